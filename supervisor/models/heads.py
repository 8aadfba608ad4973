"""Learned heads: a small two-layer network over sentence embeddings, one sigmoid output per label, in numpy.

The approach of Singapore's LionGuard 2 (a frozen embedding model plus small classifier heads) at the size of
this project: multilingual-e5-small vectors (384 numbers) feed one hidden layer of ReLU units (1024) shared by
every label, then one sigmoid unit per label. The hidden layer is shared because the labels share what they need to
read: "this sentence goes along with a request", "this one declines", "this names a method" matter to every
category. It replaced one logistic unit per label (version 3), which could only weigh directions of the
embedding one by one: "a method" and "a refusal that names the method" sit on the same directions. Scored on
groups of rows it never saw (a quarter of the curricula's languages, or a whole public source: see
`checks/learned.py`), the mean recall at the calibrated 0.2% false-alarm rate went from 0.39 to 0.52 over the
34 labels with 512 hidden units and 0.55 with 1024, the stance label from 0.54 to 0.86 and the request label
from 0.57 to 0.71 (at 5%).

Fitted by minibatch Adam on weighted binary cross-entropy with an L2 penalty, a fixed seed and a fixed order,
so the same inputs give the same heads. Fitting takes seconds for tens of thousands of rows, so it runs when a
curriculum is compiled: the ministry's own examples steer the heads as soon as they are saved, together with
the shipped bank of public labelled data (`bank.py`).

A label's rows are positive (1), negative (0) or not about it (-1: left out of that label's loss). Positives and
negatives are balanced per label so that a label with 300 examples is not drowned by 30,000 others; the
decision thresholds are calibrated afterwards on held-out data (`checks/learned.py`), not read off 0.5.
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
    hidden_weights: np.ndarray   # (dim, hidden): the shared layer
    hidden_bias: np.ndarray      # (hidden,)
    weights: np.ndarray     # (hidden, labels): the output layer
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
        z = (self.features(vectors) - self.mean) / self.scale
        return np.maximum(z @ self.hidden_weights + self.hidden_bias, 0.0) @ self.weights + self.bias

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
              row_weights: np.ndarray | None = None, hidden: int = 1024, epochs: int = 15, batch: int = 512,
              l2: float = 1e-4, learning_rate: float = 0.002, seed: int = 0,
              removed: np.ndarray | None = None) -> Heads:
    """Fit the shared hidden layer and one output per column of `targets` (values 1, 0 or IGNORE).

    Deterministic for the same inputs (fixed seed, so the same minibatch order). `row_weights` lets a source
    count for less (e.g. machine-labelled rows) without removing it. `removed`: directions projected out first.
    """
    x = np.asarray(vectors, np.float32)
    if removed is not None and len(removed):
        x = x - (x @ removed.T) @ removed
    y = np.asarray(targets, np.float32)
    n, dim = x.shape
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = ((x - mean) / scale).astype(np.float32)
    known = (y != IGNORE).astype(np.float32)
    y01 = np.where(y == 1, 1.0, 0.0).astype(np.float32)
    base = np.ones(n, np.float32) if row_weights is None else np.asarray(row_weights, np.float32)
    # balance positives against negatives per label: each side carries half of the label's total weight
    pos = (y01 * known) * base[:, None]
    neg = ((1 - y01) * known) * base[:, None]
    weight = ((pos / np.maximum(pos.sum(axis=0), 1e-6) + neg / np.maximum(neg.sum(axis=0), 1e-6)) * 0.5
              ).astype(np.float32)
    rng = np.random.default_rng(seed)
    params = {
        "w1": (rng.standard_normal((dim, hidden)) * np.sqrt(2.0 / dim)).astype(np.float32),  # He, for ReLU
        "b1": np.zeros(hidden, np.float32),
        "w2": (rng.standard_normal((hidden, y.shape[1])) * np.sqrt(1.0 / hidden)).astype(np.float32),
        "b2": np.zeros(y.shape[1], np.float32),
    }
    adam = _Adam(params, learning_rate)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            rows = order[start:start + batch]
            zb = z[rows]
            pre = zb @ params["w1"] + params["b1"]
            act = np.maximum(pre, 0.0)
            p = _sigmoid(act @ params["w2"] + params["b2"])
            # d loss / d logit; scaled so that a minibatch estimates the whole set's (per-label normalised) loss
            g = ((p - y01[rows]) * weight[rows] * (n / len(rows))).astype(np.float32)
            back = (g @ params["w2"].T) * (pre > 0)
            adam.step({"w2": act.T @ g + l2 * params["w2"], "b2": g.sum(axis=0),
                       "w1": zb.T @ back + l2 * params["w1"], "b1": back.sum(axis=0)})
    return Heads(tuple(labels), mean.astype(np.float32), scale.astype(np.float32), params["w1"], params["b1"],
                 params["w2"], params["b2"], removed)


class _Adam:
    """Adam with bias correction, updating a dict of arrays in place."""

    def __init__(self, params: dict[str, np.ndarray], learning_rate: float,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.params, self.learning_rate = params, learning_rate
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        lr = self.learning_rate * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        for key, grad in grads.items():
            self.m[key] = self.beta1 * self.m[key] + (1 - self.beta1) * grad
            self.v[key] = self.beta2 * self.v[key] + (1 - self.beta2) * grad * grad
            self.params[key] -= lr * self.m[key] / (np.sqrt(self.v[key]) + self.eps)
