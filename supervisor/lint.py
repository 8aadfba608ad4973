"""`supervisor lint`: validate curricula and policies, then run every rule's examples through the real model.

Each example is tested leave-one-out (its own entry is masked from the index, or it would trivially match
itself). Reported as problems: a must-match example the rule does not catch, a must-not example it does, a
rule that can never fire (no example fires, or its grades lie outside every grade the country teaches), a
shipped country with a category no rule covers, and a must-match example of one rule that sits on top of a
must-not example of another (the two rules disagree about the same sentence). Warned about, not failed: a
rule whose description lacks one of its curriculum's languages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checks.base import CheckContext, TextView
from .checks.semantic import reads_halves
from .errors import Problem
from .rules import schema
from .rules.model import Rule, phrases_of
from .rules.rulebook import Compiled, Rulebook
from .text.normalize import Folded, fold, holds_any, normalize
from .text.segment import Sentence, split, with_halves

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


class ExampleBank:
    """Every example text split, folded and embedded once, shared by all curricula of a lint run.

    The baseline's examples are tested again in every country that extends it (their near-misses and lesson
    background differ per country), but the text work behind them is done once here.
    """

    def __init__(self, embed):
        self.embed = embed
        self.sentences: dict[str, list[Sentence]] = {}
        self.folded: dict[str, Folded] = {}
        self.vectors: dict[str, np.ndarray] = {}
        self.halved: dict[str, list[Sentence]] = {}

    def add(self, texts, halved: bool = False) -> None:
        """Split, fold and embed the texts; with `halved`, also the halves of their long sentences."""
        fresh = [t for t in dict.fromkeys(texts) if t not in self.sentences]
        for text in fresh:
            self.sentences[text] = split(text)
            self.folded[text] = normalize(text)
        if halved:
            for text in dict.fromkeys(texts):
                if text not in self.halved:
                    self.halved[text] = with_halves(self.sentences[text])
        units = [s.text for t in dict.fromkeys(texts) for s in (self.halved[t] if halved else self.sentences[t])]
        if halved:  # the message read as one text too (TextView.message_probabilities)
            units += [t for t in dict.fromkeys(texts) if len(self.sentences[t]) > 1]
        todo = list(dict.fromkeys(u for u in units if u not in self.vectors))
        if todo:
            for sentence, vector in zip(todo, self.embed(todo), strict=True):
                self.vectors[sentence] = vector

    def units(self, text: str, halved: bool) -> list[Sentence]:
        return self.halved[text] if halved else self.sentences[text]


def firing(rule: Rule, compiled: Compiled, texts: list[str], bank: ExampleBank) -> list[bool]:
    """For each text: would the rule fire (a certain finding of any of its kinds) on it as the checked text,
    with the text and its sentences masked from the index? One matrix product serves all the texts."""
    halved = reads_halves(rule)
    bank.add(texts, halved)
    index = compiled.index
    rows = [bank.vectors[s.text] for t in texts for s in bank.units(t, halved)]
    vectors = np.stack(rows) if rows else np.zeros((0, 1), np.float32)
    sims = index.similarities(vectors)
    # the learned heads were fitted on these very examples (they cannot leave one out cheaply): lint checks
    # that the nearest-example evidence and the heads agree on the examples, not how the heads generalise;
    # bench/detector_quality.py measures that on held-out languages and sources
    probs = compiled.learned.probabilities(vectors) if compiled.learned is not None else None
    several = [t for t in dict.fromkeys(texts) if len(bank.sentences[t]) > 1] if halved and probs is not None else []
    message_probs = (dict(zip(several, compiled.learned.probabilities(np.stack([bank.vectors[t] for t in several])),
                              strict=True)) if several else {})
    out, row = [], 0
    for text in texts:
        sentences = bank.units(text, halved)
        block = sims[row:row + len(sentences)]
        row += len(sentences)
        masked = [index.position[t] for t in {text, *(s.text for s in sentences)} if t in index.position]
        if masked and len(block):
            block[:, masked] = -1.0
        view = TextView(text=text, folded=bank.folded[text], sentences=sentences, similarities=block,
                        probabilities=probs[row - len(sentences):row] if probs is not None else None,
                        halves_from=len(bank.sentences[text]) if halved else None)
        if halved and probs is not None and len(sentences):
            view.message_probabilities = (message_probs[text] if text in message_probs
                                          else view.probabilities[0])
        out.append(_any_certain(rule, compiled, view))
    return out


def _fires(rule: Rule, compiled: Compiled, text: str, embed) -> bool:
    """The reference path, one example at a time: what `firing` computes for many at once."""
    whole = split(text)
    sentences = with_halves(whole) if reads_halves(rule) else whole
    view = TextView(text=text, folded=normalize(text), sentences=sentences,
                    halves_from=len(whole) if reads_halves(rule) else None)
    vectors = embed([s.text for s in sentences]) if sentences else np.zeros((0, 1), np.float32)
    sims = compiled.index.similarities(vectors)
    mask = {text, *(s.text for s in sentences)}
    masked = [i for i, t in enumerate(compiled.index.texts) if t in mask]
    if masked and len(sims):
        sims[:, masked] = -1.0
    view.similarities = sims
    if compiled.learned is not None:
        view.probabilities = compiled.learned.probabilities(vectors)
        if reads_halves(rule) and len(whole):
            view.message_probabilities = (compiled.learned.probabilities(embed([text]))[0] if len(whole) > 1
                                          else view.probabilities[0])
    return _any_certain(rule, compiled, view)


def _any_certain(rule: Rule, compiled: Compiled, view: TextView) -> bool:
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
    bank = ExampleBank(embed)
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
            must = _examples_in(rule.match_examples, languages)
            must_not = _examples_in(rule.no_match_examples, languages)
            fired = firing(rule, compiled, [e for _, e in must + must_not], bank)
            rep.tested = len(fired)
            rep.missed = [m for m, hit in zip(must, fired, strict=False) if not hit]
            rep.false_alarms = [m for m, hit in zip(must_not, fired[len(must):], strict=True) if hit]
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
        report.problems.extend(unmarked_help(cur))
        report.warnings.extend(_conflicts(compiled))
        report.warnings.extend(untranslated(cur))
    return report


def unmarked_help(cur) -> list[Problem]:
    """A help message that holds none of the curriculum's help markers. A crisis rule's rewrite appends that
    message and checks the answer again; if the message does not read as help, the rule fires again and the
    answer is blocked instead of rewritten."""
    markers = phrases_of(cur.help_markers)
    where = next((f for f in reversed(cur.files) if Path(f).name in ("country.yaml", "baseline.yaml")),
                 cur.files[-1] if cur.files else "")
    return [Problem(where, None, f"{cur.country}: the help message in {lang} holds none of the help markers, so an "
                                 "answer with the help appended still reads as lacking help and is blocked; add a "
                                 "phrase of that message to `help_markers`")
            for lang, text in sorted(cur.help.items()) if not holds_any(fold(text), markers)]


def untranslated(cur) -> list[Problem]:
    """Warnings, not problems: a rule this curriculum defines whose description lacks one of the curriculum's
    languages (the review pages then show that rule in English). A country inherits the baseline's
    descriptions; those are checked once, in the baseline's own run, against every served language."""
    out = []
    for rule in cur.rules:
        if cur.country != "baseline" and rule.origin == "baseline":
            continue
        missing = [lang for lang in cur.languages if lang not in rule.descriptions]
        if missing:
            out.append(Problem(rule.file, rule.line, f"rule {rule.id}: no description in {', '.join(missing)} "
                               "(teachers reading those languages see the English one); write `description:` as "
                               "a mapping, e.g. `en: ...` and `" + missing[0] + ": ...`"))
    return out


def _conflicts(compiled: Compiled) -> list[Problem]:
    """Must-match examples of one rule that are near-identical to must-not examples of another."""
    index, cur = compiled.index, compiled.curriculum
    rules = [r for r in cur.rules if r.id in index.rules]
    owners, columns = [], []
    for other in rules:
        cols = [index.position[t] for items in other.no_match_examples.values() for t in items]
        owners.append((other, len(columns), len(columns) + len(cols)))
        columns.extend(cols)
    if not columns:
        return []
    theirs_matrix = index.matrix[columns]
    out = []
    for rule in rules:
        mine = index.rules[rule.id].match
        if not len(mine):
            continue
        sims = index.matrix[mine] @ theirs_matrix.T
        for other, start, end in owners:
            if other.id == rule.id or start == end:
                continue
            block = sims[:, start:end]
            i, j = np.unravel_index(int(np.argmax(block)), block.shape)
            if block[i, j] >= CONFLICT_SIMILARITY:
                out.append(Problem(rule.file, rule.line,
                                   f"rule {rule.id}: must-match example {index.texts[mine[i]][:60]!r} is nearly "
                                   f"the same as rule {other.id}'s must-not example "
                                   f"{index.texts[columns[start + j]][:60]!r} (similarity {block[i, j]:.3f})"))
    return out
