"""The shipped bank of public labelled data, already embedded, that the learned heads train on beside the
curricula's own examples.

Built offline by `training/build_bank.py` from the licensed sources listed in `training/SOURCES.md` (nothing is
downloaded at run time). Stored as int8 vectors with one scale per row (a quarter of float32's size; the heads
cannot tell the difference) and a label matrix in the heads' label space (1, 0 or -1 for "not about it").
A bank is tied to the embedding model that made it: another backend gets no bank, and its heads learn from the
curricula alone.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BANK_DIR = Path(__file__).with_name("data")


@dataclass(frozen=True)
class Bank:
    vectors: np.ndarray          # (n, dim) float32, L2-normalised
    labels: tuple[str, ...]
    targets: np.ndarray          # (n, len(labels)) in {1, 0, -1}
    groups: np.ndarray           # (n,) source id of each row: the unit of held-out calibration
    langs: np.ndarray            # (n,)
    digest: str                  # content hash: part of the heads' cache key

    @property
    def size(self) -> int:
        return len(self.vectors)


def engine_slug(embedder_name: str) -> str:
    """The part of a file's name that ties it to one embedding engine (bank, shipped vectors, cache)."""
    return hashlib.sha1(embedder_name.encode()).hexdigest()[:12]


def bank_path(embedder_name: str, folder: Path = BANK_DIR) -> Path:
    return Path(folder) / f"bank-{engine_slug(embedder_name)}.npz"


def save_bank(path: Path, vectors: np.ndarray, labels, targets: np.ndarray, groups, langs) -> None:
    vectors = np.asarray(vectors, np.float32)
    scale = np.maximum(np.abs(vectors).max(axis=1, keepdims=True), 1e-12) / 127.0
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, q=np.round(vectors / scale).astype(np.int8), scale=scale.astype(np.float32),
                        labels=np.array(list(labels), dtype=str), targets=np.asarray(targets, np.int8),
                        groups=np.array(list(groups), dtype=str), langs=np.array(list(langs), dtype=str))


def load_bank(embedder_name: str, folder: Path = BANK_DIR) -> Bank | None:
    path = bank_path(embedder_name, folder)
    if not path.is_file():
        return None
    raw = path.read_bytes()
    with np.load(io.BytesIO(raw), allow_pickle=False) as data:  # the bytes hashed are the bytes loaded
        vectors = data["q"].astype(np.float32) * data["scale"]
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return Bank(vectors=vectors, labels=tuple(data["labels"].tolist()),
                    targets=data["targets"].astype(np.float32), groups=data["groups"],
                    langs=data["langs"], digest=hashlib.sha256(raw).hexdigest()[:16])
