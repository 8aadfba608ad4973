"""`supervisor lint`: validate curricula and policies, then run every rule's examples through the real model.

Each example is tested leave-one-out (its own entry is masked from the index, or it would trivially match
itself). Reported as problems: a must-match example the rule does not catch, a must-not example it does, a
rule that can never fire (no example fires, or its grades lie outside every grade the country teaches), a
shipped country with a category no rule covers, and a must-match example of one rule that sits on top of a
must-not example of another (the two rules disagree about the same sentence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checks.base import CheckContext, TextView
from .errors import Problem
from .rules import schema
from .rules.model import Rule
from .rules.rulebook import Compiled, Rulebook
from .text.normalize import normalize
from .text.segment import split

CONFLICT_SIMILARITY = 0.975


@dataclass
class RuleReport:
    rule: str
    curriculum: str
    file: str
    line: int
    missed: list[tuple[str, str]] = field(default_factory=list)       # (lang, example) not caught
    false_alarms: list[tuple[str, str]] = field(default_factory=list)  # (lang, near-miss) caught
    tested: int = 0

    @property
    def ok(self) -> bool:
        return not self.missed and not self.false_alarms


@dataclass
class LintReport:
    problems: list[Problem] = field(default_factory=list)
    rules: list[RuleReport] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "ok": not self.problems,
            "problems": [{"file": p.file, "line": p.line, "message": p.message} for p in self.problems],
            "warnings": [{"file": p.file, "line": p.line, "message": p.message} for p in self.warnings],
            "rules": [{"rule": r.rule, "curriculum": r.curriculum, "tested": r.tested,
                       "missed": [{"lang": lang, "example": e} for lang, e in r.missed],
                       "false_alarms": [{"lang": lang, "example": e} for lang, e in r.false_alarms]}
                      for r in self.rules],
        }


def _view(text: str, sentences, compiled: Compiled, embed, mask: set[str]) -> TextView:
    view = TextView(text=text, folded=normalize(text), sentences=sentences)
    vectors = embed([s.text for s in sentences]) if sentences else np.zeros((0, 1), np.float32)
    sims = compiled.index.similarities(vectors)
    masked = [i for i, t in enumerate(compiled.index.texts) if t in mask]
    if masked and len(sims):
        sims[:, masked] = -1.0
    view.similarities = sims
    return view


def _fires(rule: Rule, compiled: Compiled, text: str, embed) -> bool:
    sentences = split(text)
    view = _view(text, sentences, compiled, embed, {text, *(s.text for s in sentences)})
    empty = TextView(text="", folded=normalize(""), sentences=[], similarities=None)
    ctx = CheckContext(response=empty if rule.target == "user" else view,
                       user=view if rule.target == "user" else empty, lang="", grade=None)
    return any(not f.uncertain for kind in rule.kinds for f in compiled.checks[kind](rule, ctx))


def _examples_in(table, languages) -> list[tuple[str, str]]:
    return [(lang, e) for lang, items in table.items() if languages is None or lang in languages for e in items]


def lint_rulebook(rulebook: Rulebook, embed, only: set[str] | None = None) -> LintReport:
    """Lint every curriculum in the rulebook, or only those named in `only` (e.g. one country being edited:
    the baseline it extends is compiled for it but reported in the baseline's own lint run)."""
    report = LintReport()
    for country, compiled in sorted(rulebook.compiled.items()):
        if only is not None and country not in only:
            continue
        cur = compiled.curriculum
        languages = None if country == "baseline" else set(cur.languages)
        for rule in cur.rules:
            if country != "baseline" and rule.origin == "baseline" and not (set(rule.match_examples) & languages):
                report.problems.append(Problem(rule.file, rule.line,
                                               f"rule {rule.id}: no must-match example in {country}'s languages "
                                               f"({', '.join(cur.languages)})"))
            rep = RuleReport(rule.id, country, rule.file, rule.line)
            for lang, example in _examples_in(rule.match_examples, languages):
                rep.tested += 1
                if not _fires(rule, compiled, example, embed):
                    rep.missed.append((lang, example))
            for lang, example in _examples_in(rule.no_match_examples, languages):
                rep.tested += 1
                if _fires(rule, compiled, example, embed):
                    rep.false_alarms.append((lang, example))
            report.rules.append(rep)
            for lang, example in rep.missed:
                report.problems.append(Problem(rule.file, rule.line,
                                               f"rule {rule.id} [{country}/{lang}]: must-match example not caught: "
                                               f"{example[:90]!r}"))
            for lang, example in rep.false_alarms:
                report.problems.append(Problem(rule.file, rule.line,
                                               f"rule {rule.id} [{country}/{lang}]: must-not example caught: "
                                               f"{example[:90]!r}"))
            tested_match = len(_examples_in(rule.match_examples, languages))
            if tested_match and len(rep.missed) == tested_match:
                report.problems.append(Problem(rule.file, rule.line,
                                               f"rule {rule.id} [{country}]: can never fire: none of its "
                                               f"{tested_match} must-match examples is caught"))
            if rule.grades and cur.grade_bands:
                taught = {g for band in cur.grade_bands for g in range(band.first, band.last + 1)}
                if not taught & set(range(rule.grades[0], rule.grades[1] + 1)):
                    report.problems.append(Problem(rule.file, rule.line,
                                                   f"rule {rule.id} [{country}]: can never fire: grades "
                                                   f"{list(rule.grades)} are not taught in {country}"))
        if country != "baseline":
            covered = {r.category for r in cur.rules}
            for category in schema.CATEGORIES:
                if category not in covered:
                    report.problems.append(Problem(str(Path(cur.files[-1]).parent), None,
                                                   f"{country}: no rule covers category {category}"))
        report.warnings.extend(_conflicts(compiled))
    return report


def _conflicts(compiled: Compiled) -> list[Problem]:
    """Must-match examples of one rule that are near-identical to must-not examples of another."""
    index, cur = compiled.index, compiled.curriculum
    out = []
    for rule in cur.rules:
        if rule.id not in index.rules:
            continue
        mine = index.rules[rule.id].match
        for other in cur.rules:
            if other.id == rule.id or other.id not in index.rules:
                continue
            theirs = [index.position[t] for items in other.no_match_examples.values() for t in items]
            if not theirs or not len(mine):
                continue
            sims = index.matrix[mine] @ index.matrix[theirs].T
            i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
            if sims[i, j] >= CONFLICT_SIMILARITY:
                out.append(Problem(rule.file, rule.line,
                                   f"rule {rule.id}: must-match example {index.texts[mine[i]][:60]!r} is nearly "
                                   f"the same as rule {other.id}'s must-not example {index.texts[theirs[j]][:60]!r} "
                                   f"(similarity {sims[i, j]:.3f})"))
    return out
