"""Curriculum probes (`curricula/<cc>/probes.yaml`): the questions students ordinarily ask about their country,
owned by its ministry, which `supervisor compare` asks every upstream model.

The format is fixed (see the JSON Schema `supervisor schema probes`). Beyond the schema, a probe must suit the
country: its grade band lies inside the grades the country teaches, its category is one the country's rules
judge, and it asks in every language the country's curriculum lists (a ministry compares models for all its
students, not only those of its first language). Probes never decide anything for a student, so they are not
part of the curriculum's version; the probes file has a version (content hash) of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import jsonschema

from .errors import ConfigError, Problem
from .rules import schema
from .rules.loader import PROBES_FILE
from .rules.model import Curriculum
from .rules.validate import schema_problems
from .rules.yaml_lines import line_of, load_yaml

_VALIDATOR = jsonschema.Draft202012Validator(schema.PROBES_FILE)


@dataclass(frozen=True)
class Probe:
    id: str
    topic: str
    category: str
    grades: tuple[int, int]
    ask: Mapping[str, tuple[str, ...]]  # language -> questions
    file: str
    line: int

    def questions(self) -> list[tuple[str, str]]:
        """(language, question) pairs, in the file's order."""
        return [(lang, q) for lang, items in self.ask.items() for q in items]


@dataclass(frozen=True)
class ProbeSet:
    country: str
    probes: tuple[Probe, ...]
    file: str
    version: str  # sha256 of the file, first 12 hex digits: which questions a report asked


def probes_path(curricula_dir: Path, country: str) -> Path:
    return Path(curricula_dir) / country / PROBES_FILE


def load_probes(path: Path, curriculum: Curriculum) -> ProbeSet:
    """Read and check one country's probes file; a ConfigError lists every problem as `file:line: message`."""
    data = load_yaml(path)
    problems = schema_problems(path, data, _VALIDATOR)
    if problems:
        raise ConfigError(problems)
    probes = [_build(raw, path, line_of(data, ["probes", i]) or 1) for i, raw in enumerate(data["probes"])]
    problems = _fit_problems(probes, curriculum)
    if problems:
        raise ConfigError(problems)
    return ProbeSet(curriculum.country, tuple(probes), str(path), hashlib.sha256(path.read_bytes()).hexdigest()[:12])


def _build(raw: dict, path: Path, line: int) -> Probe:
    return Probe(id=raw["id"], topic=raw["topic"], category=raw["category"], grades=tuple(raw["grades"]),
                 ask=MappingProxyType({lang: tuple(items) for lang, items in raw["ask"].items()}),
                 file=str(path), line=line)


def _fit_problems(probes: list[Probe], curriculum: Curriculum) -> list[Problem]:
    """What the schema cannot see: the probes against the country they probe."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    judged = sorted({r.category for r in curriculum.rules})
    taught = {g for band in curriculum.grade_bands for g in range(band.first, band.last + 1)}
    for probe in probes:
        def problem(message: str, probe: Probe = probe) -> None:
            problems.append(Problem(probe.file, probe.line, f"probe {probe.id}: {message}"))

        if probe.id in seen:
            problem(f"id is used twice (first on line {seen[probe.id]}); ids must be unique in the file")
        seen.setdefault(probe.id, probe.line)
        first, last = probe.grades
        if first > last:
            problem(f"grades {list(probe.grades)}: the first grade must not be above the last")
        elif taught and not taught & set(range(first, last + 1)):
            problem(f"grades {list(probe.grades)}: {curriculum.country} teaches none of these grades "
                    f"({min(taught)}-{max(taught)})")
        if probe.category not in judged:
            problem(f"category {probe.category!r}: no rule of {curriculum.country}'s curriculum judges it; use one "
                    f"of: {', '.join(judged)}")
        foreign = [lang for lang in probe.ask if lang not in curriculum.languages]
        if foreign:
            problem(f"ask: {', '.join(foreign)} is not a language of {curriculum.country}'s curriculum "
                    f"({', '.join(curriculum.languages)})")
        missing = [lang for lang in curriculum.languages if lang not in probe.ask]
        if missing:
            problem(f"ask: no question in {', '.join(missing)}; ask in every language the curriculum lists "
                    f"({', '.join(curriculum.languages)})")
    return problems


def lint_probes(curricula_dir: Path, curricula: Mapping[str, Curriculum],
                countries: Iterable[str] | None = None) -> list[Problem]:
    """Problems in the probes files of the given countries (default: every country that has one)."""
    problems: list[Problem] = []
    for country in sorted(countries if countries is not None else curricula):
        path = probes_path(curricula_dir, country)
        if country == "baseline" or country not in curricula or not path.is_file():
            continue
        try:
            load_probes(path, curricula[country])
        except ConfigError as exc:
            problems.extend(exc.problems)
    return problems
