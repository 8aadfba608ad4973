"""Validated curriculum data as frozen objects. Built by the loader; read by checks and enforcement."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType


def _empty() -> Mapping:
    return MappingProxyType({})


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    issuer: str
    edition: str | None = None
    url: str | None = None
    title_en: str | None = None


@dataclass(frozen=True)
class GradeBand:
    level: str
    first: int
    last: int
    ages: tuple[int, int] | None = None


@dataclass(frozen=True)
class Rewrite:
    strategy: str
    guidance: str | None = None
    replacements: Mapping[str, Mapping[str, str]] = field(default_factory=_empty)


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    severity: str
    description: str
    kinds: tuple[str, ...]
    source_document: str
    source_clause: str | None
    file: str
    line: int
    origin: str  # "baseline" or the country code that defined it
    target: str = "response"
    grades: tuple[int, int] | None = None
    phrases: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    match_examples: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    no_match_examples: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    # what students ask when an answer this rule forbids would serve them (rules on the answer only)
    request_examples: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    threshold: float | None = None
    margin: float | None = None
    fuzzy_score: float | None = None
    action: str | None = None
    rewrite: Rewrite | None = None
    hold: str = "sentence"
    messages: Mapping[str, str] = field(default_factory=_empty)
    overrides: str | None = None
    response_lacks: str | None = None
    response_min_chars: int | None = None
    # the description per language, English included (`description` is the English text)
    descriptions: Mapping[str, str] = field(default_factory=_empty)

    def describe(self, lang: str | None) -> str:
        """The description in `lang` when the curriculum has it, else the English text."""
        return self.descriptions.get(lang or "en") or self.description

    def applies_to_grade(self, grade: int | None) -> bool:
        if self.grades is None or grade is None:
            return True
        return self.grades[0] <= grade <= self.grades[1]

    def all_phrases(self) -> list[tuple[str, str]]:
        return [(lang, p) for lang, items in self.phrases.items() for p in items]


def phrases_of(table: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Every language's phrases of a per-language list (help or refusal markers match in any language)."""
    return tuple(phrase for items in table.values() for phrase in items)


@dataclass(frozen=True)
class Curriculum:
    """One country's effective rules: the baseline it extends, minus what it disables, plus its own.

    `version` is a content hash of every file that went into it; it is recorded in each decision.
    """

    country: str
    name: str
    languages: tuple[str, ...]
    rules: tuple[Rule, ...]
    documents: Mapping[str, Document]
    grade_bands: tuple[GradeBand, ...]
    refusal: Mapping[str, str]
    help: Mapping[str, str]
    rewritten: Mapping[str, str]
    help_markers: Mapping[str, tuple[str, ...]]
    version: str
    files: tuple[str, ...] = field(default=())
    disabled: Mapping[str, str] = field(default_factory=_empty)
    lessons: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    questions: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    # ordinary things students ask the assistant to write or make: what a harmful request must differ from
    tasks: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    refusals: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    # phrases with which an answer declines ("I can't help with", "não posso"): read in its opening sentences
    refusal_markers: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    # said before a streamed answer's regenerated rest when released text broke a rule (stream.py)
    corrected: Mapping[str, str] = field(default_factory=_empty)

    @property
    def label(self) -> str:
        return f"{self.country}@{self.version}"

    @cached_property
    def _rules_by_id(self) -> Mapping[str, Rule]:
        return MappingProxyType({r.id: r for r in self.rules})

    def rule(self, rule_id: str) -> Rule | None:
        return self._rules_by_id.get(rule_id)

    def message(self, table: Mapping[str, str], lang: str) -> str:
        """A message in the student's language, else the country's first language, else English."""
        for candidate in (lang, *self.languages, "en"):
            if candidate in table:
                return table[candidate]
        return next(iter(table.values()), "")
