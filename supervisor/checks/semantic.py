"""Semantic stage: each sentence against each rule's must-match and must-not examples.

Every example of every rule in a curriculum is embedded once into one matrix; a checked text's sentences are
embedded once; one matrix product gives every sentence-example similarity. A rule fires on a sentence when

    best_match ≥ threshold  and  best_match − best_near_miss ≥ margin

where near-misses are the rule's own `no_match` examples, those of the other rules in its category
(legitimate teaching on the same topics) and the curriculum's everyday lesson sentences (`lessons.yaml`,
which set each language's background: in some languages any two sentences look alike to the model). Topic similarity alone is not enough; the sentence must be closer
to what violating answers say than to what good lessons say. Scores in the band just under the threshold are
marked uncertain, for the optional LLM judge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..rules.model import Curriculum, Rule
from .base import CheckContext, Finding

# Chosen on shared/eval/dev.jsonl by sweeping both (the sweep is recorded in the closing note):
# margin 0.02 gave recall 0.95 with 35% of legitimate lessons blocked; 0.88/0.028 gives 0.84 with 5%.
# Over-blocking a history lesson costs trust as fast as a miss; rules can still set their own.
DEFAULT_THRESHOLD = 0.88
DEFAULT_MARGIN = 0.028
UNCERTAIN_BAND = 0.03


@dataclass(frozen=True)
class RuleIndex:
    match: np.ndarray      # column indexes into the example matrix
    near_miss: np.ndarray
    match_texts: tuple[str, ...]


class SemanticIndex:
    """The embedded examples of one curriculum. Built at load time, immutable afterwards."""

    def __init__(self, curriculum: Curriculum, embed, threshold: float = DEFAULT_THRESHOLD,
                 margin: float = DEFAULT_MARGIN):
        self.threshold = threshold
        self.margin = margin
        texts: list[str] = []
        position: dict[str, int] = {}

        def columns(items) -> np.ndarray:
            cols = []
            for text in items:
                if text not in position:
                    position[text] = len(texts)
                    texts.append(text)
                cols.append(position[text])
            return np.asarray(cols, dtype=np.int64)

        semantic = [r for r in curriculum.rules if "semantic" in r.kinds]
        by_category: dict[str, list[str]] = {}
        for rule in semantic:
            by_category.setdefault(rule.category, []).extend(
                t for items in rule.no_match_examples.values() for t in items)
        lessons = {t for items in curriculum.lessons.values() for t in items}
        self.rules: dict[str, RuleIndex] = {}
        for rule in semantic:
            matches = [t for items in rule.match_examples.values() for t in items]
            # a user-target rule reads students' messages: lesson sentences are no background for those
            background = lessons if rule.target == "response" else set()
            near = (set(by_category.get(rule.category, ())) | background) - set(matches)
            self.rules[rule.id] = RuleIndex(columns(matches), columns(sorted(near)), tuple(matches))
        self.texts = texts
        self.position = position
        self.matrix = embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)

    def similarities(self, sentence_vectors: np.ndarray) -> np.ndarray:
        if not len(self.texts) or not len(sentence_vectors):
            return np.zeros((len(sentence_vectors), len(self.texts)), dtype=np.float32)
        return sentence_vectors @ self.matrix.T

    def score(self, rule: Rule, sims: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per sentence: best must-match similarity, its example index, best near-miss similarity."""
        idx = self.rules[rule.id]
        pos = sims[:, idx.match]
        best = pos.max(axis=1)
        which = pos.argmax(axis=1)
        neg = sims[:, idx.near_miss].max(axis=1) if len(idx.near_miss) else np.full(len(sims), -1.0)
        return best, which, neg


def make_check(index: SemanticIndex):
    """The `semantic` kind's check for one curriculum's index."""

    def check_semantic(rule: Rule, ctx: CheckContext) -> list[Finding]:
        if rule.id not in index.rules:
            return []
        view = ctx.user if rule.target == "user" else ctx.response
        if view.similarities is None or not len(view.sentences):
            return []
        best, which, neg = index.score(rule, view.similarities)
        threshold = rule.threshold if rule.threshold is not None else index.threshold
        margin = rule.margin if rule.margin is not None else index.margin
        out: list[Finding] = []
        for i, sentence in enumerate(view.sentences):
            gap = float(best[i] - neg[i])
            if gap < margin:
                continue
            certain = best[i] >= threshold
            if certain or best[i] >= threshold - UNCERTAIN_BAND:
                out.append(Finding(rule.id, rule.category, rule.severity, "semantic", float(best[i]),
                                   rule.target, (sentence.start, sentence.end), sentence.text,
                                   index.rules[rule.id].match_texts[int(which[i])], uncertain=not certain))
        return _strongest_first(out)

    return check_semantic


def _strongest_first(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.uncertain, -f.score))
