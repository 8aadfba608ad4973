"""Learned heads: small logistic classifiers over sentence embeddings, one per label, fitted in numpy.

The approach of Singapore's LionGuard 2 (a frozen embedding model plus small heads) at the size of this
project: multilingual-e5-small vectors (384 numbers), one sigmoid unit per label, fitted jointly by full-batch
Adam on weighted binary cross-entropy with an L2 penalty. Fitting takes seconds for tens of thousands of
rows, so it runs when a curriculum is compiled: the ministry's own examples steer the heads as soon as they are
saved, together with the shipped bank of public labelled data (`bank.py`).

A label's rows are positive (1), negative (0) or not about it (-1: left out of that head's loss). Positives and
negatives are balanced per head so that a label with 300 examples is not drowned by 30,000 others; the
decision thresholds are calibrated afterwards on held-out data (`training/calibrate.py`), not read off 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IGNORE = -1


@dataclass(frozen=True)
class Heads:
    labels: tuple[str, ...]
    mean: np.ndarray        # feature standardisation fitted with the heads
    scale: np.ndarray
    weights: np.ndarray     # (dim, labels)
    bias: np.ndarray        # (labels,)
    # directions removed before the heads read a vector (rows; may be empty): see `language_directions`
    removed: np.ndarray | None = None

    def features(self, vectors: np.ndarray) -> np.ndarray:
        if self.removed is None or not len(self.removed):
            return vectors
        return vectors - (vectors @ self.removed.T) @ self.removed

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        if not len(vectors):
            return np.zeros((0, len(self.labels)), np.float32)
        return ((self.features(vectors) - self.mean) / self.scale) @ self.weights + self.bias

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        """Probability of each label (columns) for each vector (rows)."""
        return _sigmoid(self.logits(vectors)).astype(np.float32)

    def column(self, label: str) -> int:
        return self.labels.index(label)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # never overflows


def language_directions(vectors: np.ndarray, count: int) -> np.ndarray:
    """The `count` principal directions of a set of sentence vectors (rows), sign-fixed.

    In a multilingual embedding the largest directions of variance over many languages' sentences are mostly
    which language and script a sentence is in. A head that reads them learns "Khmer text is more often a
    rule example than a lesson" instead of what a sentence says; removed, what is left transfers better from
    the languages with much data (English, Indonesian, Japanese, Chinese, Thai) to those with little.
    """
    x = np.asarray(vectors, np.float64)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    basis = vt[:count]
    signs = np.sign(basis[np.arange(len(basis)), np.abs(basis).argmax(axis=1)])
    return (basis * signs[:, None]).astype(np.float32)


def fit_heads(vectors: np.ndarray, targets: np.ndarray, labels: tuple[str, ...], *,
              row_weights: np.ndarray | None = None, l2: float = 1e-3, steps: int = 300,
              learning_rate: float = 0.05, seed: int = 0, removed: np.ndarray | None = None) -> Heads:
    """Fit one logistic head per column of `targets` (values 1, 0 or IGNORE).

    Deterministic for the same inputs (fixed seed, full batch). `row_weights` lets a source count for less
    (e.g. machine-labelled rows) without removing it. `removed`: directions projected out first.
    """
    x = np.asarray(vectors, np.float32)
    if removed is not None and len(removed):
        x = x - (x @ removed.T) @ removed
    y = np.asarray(targets, np.float32)
    n, dim = x.shape
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    known = (y != IGNORE).astype(np.float32)
    y01 = np.where(y == 1, 1.0, 0.0).astype(np.float32)
    base = np.ones(n, np.float32) if row_weights is None else np.asarray(row_weights, np.float32)
    # balance positives against negatives per head: each side carries half of the head's total weight
    pos = (y01 * known) * base[:, None]
    neg = ((1 - y01) * known) * base[:, None]
    weight = (pos / np.maximum(pos.sum(axis=0), 1e-6) + neg / np.maximum(neg.sum(axis=0), 1e-6)) * 0.5
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((dim, y.shape[1])) * 0.01).astype(np.float32)
    b = np.zeros(y.shape[1], np.float32)
    m_w, v_w = np.zeros_like(w), np.zeros_like(w)
    m_b, v_b = np.zeros_like(b), np.zeros_like(b)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, steps + 1):
        p = _sigmoid(z @ w + b)
        g = (p - y01) * weight                      # d loss / d logit, already normalised per head
        grad_w = z.T @ g + l2 * w
        grad_b = g.sum(axis=0)
        m_w = beta1 * m_w + (1 - beta1) * grad_w
        v_w = beta2 * v_w + (1 - beta2) * grad_w * grad_w
        m_b = beta1 * m_b + (1 - beta1) * grad_b
        v_b = beta2 * v_b + (1 - beta2) * grad_b * grad_b
        lr = learning_rate * np.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
        w -= lr * m_w / (np.sqrt(v_w) + eps)
        b -= lr * m_b / (np.sqrt(v_b) + eps)
    return Heads(tuple(labels), mean.astype(np.float32), scale.astype(np.float32), w, b, removed)
