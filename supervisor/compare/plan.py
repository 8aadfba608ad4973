"""What a compare run asks: each country's probes, at which grade, in which language, checked before anything runs.

A probe is asked once per question and language. By default at the youngest grade of its band (the strictest
reading a student of that band gets); with `--grades`, at every listed grade inside its band instead, and a
probe whose band holds none of them is not asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import BadRequest
from ..probes import Probe, ProbeSet, load_probes, probes_path
from ..rules.loader import BASELINE_DIR, load_curricula
from ..rules.model import Curriculum


@dataclass(frozen=True)
class Ask:
    country: str
    probe: Probe
    lang: str
    question: str
    grade: int


@dataclass(frozen=True)
class Country:
    curriculum: Curriculum
    probes: ProbeSet


def _known(curricula_dir: Path) -> list[str]:
    return sorted(d.name for d in curricula_dir.iterdir()
                  if d.is_dir() and not d.name.startswith(("_", ".")) and d.name != BASELINE_DIR)


def load_countries(curricula_dir: Path, countries: list[str]) -> dict[str, Country]:
    """Each asked country's curriculum and probes; a BadRequest or ConfigError says what to fix."""
    wanted = list(dict.fromkeys(c.strip().lower() for c in countries))
    if not wanted:
        raise BadRequest("name at least one country with --country (e.g. --country jp)")
    known = _known(curricula_dir)
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise BadRequest(f"unknown country {', '.join(map(repr, unknown))}: no such folder in {curricula_dir}; "
                         f"known: {', '.join(known)}")
    without = [c for c in wanted if not probes_path(curricula_dir, c).is_file()]
    if without:
        raise BadRequest(f"no probes for {', '.join(without)}: {curricula_dir}/<cc>/probes.yaml is missing (the "
                         f"questions its students ordinarily ask; `supervisor schema probes` shows the format)")
    curricula = load_curricula(curricula_dir, wanted)
    return {cc: Country(curricula[cc], load_probes(probes_path(curricula_dir, cc), curricula[cc])) for cc in wanted}


def plan(countries: dict[str, Country], grades: list[int] | None = None) -> list[Ask]:
    asks = []
    for cc, country in countries.items():
        for probe in country.probes.probes:
            first, last = probe.grades
            at = [g for g in dict.fromkeys(grades) if first <= g <= last] if grades else [first]
            for grade in at:
                asks.extend(Ask(cc, probe, lang, question, grade) for lang, question in probe.questions())
    if not asks:
        raise BadRequest(f"no probe suits grades {', '.join(map(str, grades or []))} in "
                         f"{', '.join(countries)}; widen --grades")
    return asks
