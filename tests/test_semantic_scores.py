"""The semantic stage's scores, worked out once per text (checks/semantic.Scores), equal the plain reduction over
each rule's columns: the shared background is only a shortcut."""

from __future__ import annotations

import numpy as np

from conftest import PROJECT_ROOT
from supervisor.checks.semantic import Scores, SemanticIndex
from supervisor.models.embedder import HashingEmbedder
from supervisor.rules.loader import load_curricula


def test_scores_equal_the_direct_reduction_over_each_rules_columns():
    embedder = HashingEmbedder(dim=32)  # plumbing only: the similarities are random
    checked = 0
    for name, curriculum in load_curricula(PROJECT_ROOT / "curricula").items():
        if name != "sg":  # one shipped country: every baseline rule, both targets, a few thousand columns
            continue
        index = SemanticIndex(curriculum, embedder.embed)
        sims = np.random.default_rng(0).uniform(-1, 1, (7, len(index.texts))).astype(np.float32)
        scores = Scores(index, sims)
        for rule_id, idx in index.rules.items():
            best, which, neg = scores.of(rule_id)
            assert np.array_equal(best, sims[:, idx.match].max(axis=1))
            assert np.array_equal(which, sims[:, idx.match].argmax(axis=1))
            direct = sims[:, idx.near_miss].max(axis=1) if len(idx.near_miss) else np.full(len(sims), -1.0)
            assert np.array_equal(neg, direct), rule_id
            assert scores.of(rule_id) is scores.of(rule_id)  # worked out once
            checked += 1
    assert checked > 20
    assert sum(idx.background is not None for idx in index.rules.values()) > 20  # the shortcut is taken
