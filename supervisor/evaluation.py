"""`supervisor eval FILE.jsonl`: score a case file (docs/eval-format.md) against the shipped curricula.

A case is positive when `pass` is not in `expected`. Recall: positives whose decision is not `pass`.
False-positive rate: cases whose `expected` is exactly ["pass"] that were not passed. Action accuracy:
decision in `expected`. Reported overall, per language and per category. A country without a shipped
curriculum is judged by the universal baseline, never skipped.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from .errors import BadRequest
from .jsonl import read_objects
from .policy import DEFAULT_POLICY
from .services import make_embedder, make_rulebook, make_supervisor
from .settings import Settings

REQUIRED = ("id", "country", "lang", "response", "expected", "category")
DECISIONS = {"pass", "flag", "rewrite", "block"}


def read_cases(path: Path) -> list[dict]:
    cases, seen = [], set()
    for number, case in read_objects(path):
        missing = [k for k in REQUIRED if k not in case]
        if missing:
            raise BadRequest(f"{path}:{number}: missing field(s) {', '.join(missing)}")
        if not set(case["expected"]) <= DECISIONS or not case["expected"]:
            raise BadRequest(f"{path}:{number}: `expected` must be a non-empty list of {sorted(DECISIONS)}")
        if case["id"] in seen:
            raise BadRequest(f"{path}:{number}: duplicate id {case['id']!r}")
        seen.add(case["id"])
        cases.append(case)
    return cases


def is_harmful(case: dict) -> bool:
    """A case that must not pass: recall counts it. (A case that allows passing among other decisions is neither
    harmful nor a control: only action accuracy counts it.)"""
    return "pass" not in case["expected"]


def is_control(case: dict) -> bool:
    """A case that must pass: the false-positive rate counts it."""
    return case["expected"] == ["pass"]


def _metrics(rows: list[tuple[dict, str]]) -> dict:
    positives = [(c, d) for c, d in rows if is_harmful(c)]
    controls = [(c, d) for c, d in rows if is_control(c)]
    return {
        "n": len(rows),
        "recall": round(sum(d != "pass" for _, d in positives) / len(positives), 4) if positives else None,
        "false_positive_rate": round(sum(d != "pass" for _, d in controls) / len(controls), 4) if controls else None,
        "action_accuracy": round(sum(d in c["expected"] for c, d in rows) / len(rows), 4) if rows else None,
        "f1": _f1(positives, controls),
    }


def _f1(positives: list, controls: list) -> float | None:
    """F1 of "not pass" as the positive class: caught positives against misses and false alarms."""
    caught = sum(d != "pass" for _, d in positives)
    missed = len(positives) - caught
    false_alarms = sum(d != "pass" for _, d in controls)
    return round(2 * caught / (2 * caught + missed + false_alarms), 4) if positives else None


def evaluate_file(settings: Settings, path: Path, progress: bool = False) -> dict:
    cases = read_cases(path)
    embedder = make_embedder(settings)
    rulebook = make_rulebook(settings, embedder)
    return evaluate_cases(cases, rulebook, make_supervisor(settings, embedder), progress)


def evaluate_cases(cases: list[dict], rulebook, supervisor, progress: bool = False) -> dict:
    """Score cases against a compiled rulebook (benchmarks pass variants: without heads, a source held out)."""
    iterator = cases
    if progress:
        from tqdm import tqdm

        iterator = tqdm(cases, desc="eval", unit="case", file=sys.stderr)
    rows, out_cases = [], []
    for case in iterator:
        compiled = rulebook.for_country(case["country"])
        verdict = supervisor.check_sync(compiled, DEFAULT_POLICY, response=case["response"],
                                        messages=case.get("messages"), grade=case.get("grade"),
                                        lang=case["lang"])
        rows.append((case, verdict.decision))
        out_cases.append({"id": case["id"], "decision": verdict.decision, "rules": verdict.rules,
                          "expected": case["expected"], "category": case["category"], "lang": case["lang"],
                          "curriculum": verdict.curriculum})
    by_lang, by_cat = defaultdict(list), defaultdict(list)
    for case, decision in rows:
        by_lang[case["lang"]].append((case, decision))
        by_cat[case["category"]].append((case, decision))
    return {
        "overall": _metrics(rows),
        "by_lang": {k: _metrics(v) for k, v in sorted(by_lang.items())},
        "by_category": {k: _metrics(v) for k, v in sorted(by_cat.items())},
        "cases": out_cases,
    }


def _fmt(value) -> str:
    return "      -" if value is None else f"{value:7.3f}"


def format_table(result: dict) -> str:
    lines = [f"{'':22} {'n':>4} {'recall':>7} {'FPR':>7} {'F1':>7} {'action':>7}"]

    def row(name: str, m: dict) -> None:
        lines.append(f"{name:22} {m['n']:4d} {_fmt(m['recall'])} {_fmt(m['false_positive_rate'])} "
                     f"{_fmt(m.get('f1'))} {_fmt(m['action_accuracy'])}")

    row("overall", result["overall"])
    lines.append("by language")
    for k, m in result["by_lang"].items():
        row(f"  {k}", m)
    lines.append("by category")
    for k, m in result["by_category"].items():
        row(f"  {k}", m)
    return "\n".join(lines)
