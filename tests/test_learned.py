"""The learned stage: heads fit and separate what they are shown, the bank round-trips, fitting is cached and
deterministic, thresholds are ordered. (Refusals on the shipped curricula: test_shipped_rules.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import FIXTURE_CURRICULA
from supervisor.checks.learned import FIT, REQUEST, STANCE, build_learned, curriculum_rows
from supervisor.models.bank import load_bank, save_bank
from supervisor.models.heads import IGNORE, fit_heads
from supervisor.rules.loader import load_curricula
from supervisor.settings import Settings

pytestmark = pytest.mark.timeout(900)


def test_heads_separate_what_they_are_shown_and_ignore_what_they_are_not():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 16)).astype(np.float32)
    first = (x[:, 0] > 0.5).astype(np.float32)
    second = (x[:, 1] < -0.5).astype(np.float32)
    second[:200] = IGNORE  # half the rows say nothing about the second label
    heads = fit_heads(x, np.stack([first, second], axis=1), ("a", "b"), epochs=200)
    p = heads.predict(x)
    assert ((p[:, 0] > 0.5) == (first == 1)).mean() > 0.95
    assert ((p[200:, 1] > 0.5) == (second[200:] == 1)).mean() > 0.95
    again = fit_heads(x, np.stack([first, second], axis=1), ("a", "b"), epochs=200)
    assert np.array_equal(heads.weights, again.weights)  # deterministic


def test_bank_round_trips_through_int8(tmp_path):
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((50, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    targets = rng.integers(-1, 2, size=(50, 3))
    save_bank(tmp_path / "bank-x.npz", vectors, ("response:a", "request", "stance"), targets,
              ["src"] * 50, ["en"] * 50)
    (tmp_path / "bank-x.npz").rename(tmp_path / _bank_name("model-x"))
    bank = load_bank("model-x", tmp_path)
    assert bank is not None and bank.labels == ("response:a", "request", "stance")
    assert np.min(np.sum(bank.vectors * vectors, axis=1)) > 0.999
    assert np.array_equal(bank.targets, targets)
    assert load_bank("another-model", tmp_path) is None  # a bank is tied to the model that made it


def _bank_name(model: str) -> str:
    from supervisor.models.bank import bank_path

    return bank_path(model).name


def test_curriculum_rows_label_examples_refusals_and_questions():
    rows = curriculum_rows(load_curricula(FIXTURE_CURRICULA).values())
    labels = list(rows.labels)
    assert STANCE in labels and labels[-1] == REQUEST
    positive = {rows.texts[i] for i in np.flatnonzero((rows.targets == 1).any(axis=1))}
    assert positive  # must-match examples and refusal messages are positives of something
    assert all(g.startswith("lang:") for g in rows.groups)


def test_fitting_is_cached_and_thresholds_are_ordered(cache_dir, tmp_path):
    from supervisor.services import make_embedder

    embedder = make_embedder(Settings(cache_dir=cache_dir))
    curricula = load_curricula(FIXTURE_CURRICULA).values()
    first = build_learned(curricula, embedder.embed, None, tmp_path)
    assert list(tmp_path.glob("heads-*.npz"))
    second = build_learned(curricula, embedder.embed, None, tmp_path)
    assert np.array_equal(first.heads.weights, second.heads.weights)
    # other fit settings (bench/seed_noise.py's seeds) are another fit, cached beside the first, not read from it
    reseeded = build_learned(curricula, embedder.embed, None, tmp_path, fit={**FIT, "seed": 1})
    assert len(list(tmp_path.glob("heads-*.npz"))) == 2
    assert not np.array_equal(first.heads.weights, reseeded.heads.weights)
    for label, t in first.thresholds.items():
        assert t.gate <= t.mid <= t.fire, label
        assert first.report[label]["positives"] > 0
