"""The loop back to the curriculum: per-rule false-alarm rates, and overrides turned into suggested examples.

A false alarm suggests the sentence that fired as a `no_match` example of the rule that fired on it; a missed
harm suggests the sentence the teacher picked as a `match` example of the rule the teacher named. Only
overrides that still stand (not undone, no later confirm or other override on the exchange) are suggested. The YAML
snippet uses the curriculum's own layout (`rules: - id: … examples: {match|no_match: {lang: [...]}}`) so an
officer can paste the lists under each rule and run `supervisor lint`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import yaml

from ..rules.rulebook import Rulebook
from ..text import lang as langid

KIND_BY_ACTION = {"override_false_alarm": "no_match", "override_missed": "match"}


def rule_rates(outcomes: list[dict]) -> list[dict]:
    """`outcomes`: one {rules (JSON text), review_action, review_rule} per exchange, the action being the
    latest that still stands (an undone one does not count). A false alarm that names one rule counts against
    that rule only; without a name, against every rule that fired. Noisiest rules first."""
    stats: dict[str, dict] = defaultdict(lambda: {"fired": 0, "reviewed": 0, "confirmed": 0, "false_alarms": 0})
    for row in outcomes:
        for rule in json.loads(row["rules"]):
            s = stats[rule]
            s["fired"] += 1
            action = row["review_action"]
            if action is not None:
                s["reviewed"] += 1
                s["confirmed"] += action == "confirm"
                s["false_alarms"] += action == "override_false_alarm" and row.get("review_rule") in (None, rule)
    out = [{"rule": rule, **s, "false_alarm_rate": round(s["false_alarms"] / s["reviewed"], 3) if s["reviewed"]
            else None} for rule, s in stats.items()]
    return sorted(out, key=lambda r: (-(r["false_alarm_rate"] or 0), -r["false_alarms"], -r["fired"], r["rule"]))


def suggestions(overrides: list[dict]) -> list[dict]:
    """One entry per (rule, kind, language, sentence), with how many overrides suggested it."""
    found: dict[tuple[str, str, str, str], dict] = {}
    for row in overrides:
        if row["review_id"] != row["id"]:
            continue  # undone, or a later review replaced this override
        kind = KIND_BY_ACTION[row["action"]]
        if kind == "no_match":
            pairs = [(f["rule"], f["sentence"]) for f in json.loads(row["findings"])
                     if not row["rule_id"] or f["rule"] == row["rule_id"]]
        else:
            pairs = [(row["rule_id"], row["sentence"])] if row["rule_id"] and row["sentence"] else []
        for rule, sentence in pairs:
            lang = langid.detect(sentence, default=None) or row["lang"] or "en"
            key = (rule, kind, lang, sentence.strip())
            entry = found.setdefault(key, {"rule": rule, "kind": kind, "lang": lang, "sentence": sentence.strip(),
                                           "count": 0, "request_ids": [], "schools": []})
            entry["count"] += 1
            entry["request_ids"].append(row["request_id"])
            if row["school_id"] not in entry["schools"]:
                entry["schools"].append(row["school_id"])
    return sorted(found.values(), key=lambda e: (e["rule"], e["kind"], e["lang"], -e["count"]))


def _where(rulebook: Rulebook, rule_id: str, curricula_dir: Path) -> str:
    for compiled in rulebook.compiled.values():
        rule = compiled.curriculum.rule(rule_id)
        if rule:
            path = Path(rule.file)
            try:
                path = path.relative_to(curricula_dir.parent)
            except ValueError:
                pass
            return f"{path}:{rule.line}"
    return "no longer in the curricula"


def suggestions_yaml(items: list[dict], rulebook: Rulebook, curricula_dir: Path, generated_at: str,
                     schools: list[str]) -> str:
    lines = [
        "# Suggested examples from teachers' overrides (edu-supervisor review pages).",
        f"# Generated {generated_at} for schools: {', '.join(schools)}.",
        "# A false alarm becomes a no_match example, a missed harm a match example. Each sentence is what a",
        "# student saw or wrote: remove anything that identifies a person, then add the lists under the rule's",
        "# `examples:` in the file named above it and run `supervisor lint`.",
        "rules:",
    ]
    by_rule: dict[str, dict[str, dict[str, list[str]]]] = {}
    for item in items:
        kinds = by_rule.setdefault(item["rule"], {})
        kinds.setdefault(item["kind"], {}).setdefault(item["lang"], []).append(item["sentence"])
    for rule_id, kinds in by_rule.items():
        counts = {k: sum(len(v) for v in langs.values()) for k, langs in kinds.items()}
        lines.append(f"  # {_where(rulebook, rule_id, curricula_dir)}: {counts.get('no_match', 0)} false alarm(s), "
                     f"{counts.get('match', 0)} missed")
        examples = {k: kinds[k] for k in ("match", "no_match") if k in kinds}
        chunk = yaml.safe_dump([{"id": rule_id, "examples": examples}], allow_unicode=True, sort_keys=False,
                               default_flow_style=False, width=1000)
        lines.extend("  " + line for line in chunk.splitlines())
    if not by_rule:
        lines[-1] = "rules: []"
    return "\n".join(lines) + "\n"
