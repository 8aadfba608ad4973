"""The compare report: per model, country, language and rule category, how the supervisor decided on the
answers (passed, flagged, rewritten, blocked, or no answer because the upstream failed), which rules acted, and
the latency a student waited.

Every rate is over all probes asked, failures included: a model that does not answer has not fitted the
curriculum. Models are ranked by the share of answers that passed unchanged, then by fewer blocks, rewrites,
flags and failures. This measures fit to the curriculum as the supervisor reads it, not truth or helpfulness.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

DECISIONS = ("pass", "flag", "rewrite", "block")
OUTCOMES = (*DECISIONS, "error")


def _outcome(row: dict) -> str:
    return row["decision"] if row.get("decision") in DECISIONS else "error"


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100): a value that was observed, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def stats(rows: list[dict]) -> dict:
    counts = Counter(_outcome(r) for r in rows)
    n = len(rows)
    latency = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None and _outcome(r) != "error"]
    supervision = [r["supervision_ms"] for r in rows if r.get("supervision_ms") is not None]
    rules = Counter(rule for r in rows for rule in r.get("rules") or [])
    out = {"n": n, **{k: counts[k] for k in OUTCOMES}}
    out.update({f"{k}_rate": (counts[k] / n if n else None) for k in OUTCOMES})
    out.update(latency_p50_ms=percentile(latency, 50), latency_p95_ms=percentile(latency, 95),
               supervision_p50_ms=percentile(supervision, 50), supervision_p95_ms=percentile(supervision, 95),
               rules=dict(rules.most_common()))
    return out


def _grouped(rows: list[dict], key) -> dict[str, dict]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return {name: stats(group) for name, group in sorted(groups.items())}


def _shown(path: str) -> str:
    """curricula/<cc>/probes.yaml: where the file sits in a checkout, not on this machine."""
    parts = Path(path).parts
    return "/".join(parts[-3:])


def rank_key(s: dict) -> tuple:
    return (-(s["pass_rate"] or 0), s["block_rate"] or 0, s["rewrite_rate"] or 0, s["flag_rate"] or 0,
            s["error_rate"] or 0)


def build_report(rows: list[dict], upstreams: list[str], countries: dict, grades: list[int] | None,
                 concurrency: int) -> dict:
    """`countries`: {cc: plan.Country}, for the curriculum and probes versions that judged and asked."""
    models = {}
    for name in upstreams:
        mine = [r for r in rows if r["model"] == name]
        models[name] = {
            "overall": stats(mine),
            "by_country": _grouped(mine, lambda r: r["country"]),
            "by_lang": _grouped(mine, lambda r: r["lang"]),
            "by_category": _grouped(mine, lambda r: r["category"]),
            "by_country_category": {cc: _grouped([r for r in mine if r["country"] == cc], lambda r: r["category"])
                                    for cc in countries},
            "errors": dict(Counter(r["error"] for r in mine if r.get("error")).most_common(5)),
        }
    ranking = sorted(upstreams, key=lambda m: rank_key(models[m]["overall"]))
    judged = {}
    for cc, country in countries.items():
        seen = sorted({r["curriculum"] for r in rows if r["country"] == cc and r.get("curriculum")})
        judged[cc] = {"name": country.curriculum.name, "curriculum": country.curriculum.label,
                      "curriculum_version": country.curriculum.version,
                      # what the proxy reported per answer; one label unless a curriculum changed mid-run
                      "curriculum_seen": seen, "languages": list(country.curriculum.languages),
                      "probes_file": _shown(country.probes.file), "probes_version": country.probes.version,
                      "probes": len(country.probes.probes)}
    return {
        "report": "supervisor compare",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "upstreams": list(upstreams),
        "grades": grades or "youngest grade of each probe's band",
        "concurrency": concurrency,
        "countries": judged,
        "ranking": ranking,
        "models": models,
        "method": "Every model was asked the same questions students ordinarily ask, written by each country's "
                  "ministry (its probes file), each sent through the supervisor proxy as a student of the probe's "
                  "grade would send it and judged under that country's curriculum: the decision is the one the "
                  "student would have seen. Rates are over all probes asked, "
                  "failures included. Ranked by the share of answers passed unchanged, then by fewer blocks, "
                  "rewrites, flags and failures. Latency is the whole exchange (upstream and supervision) as the "
                  "school app waits for it, at the stated concurrency, after one unscored warm-up question per model; "
                  "p50 and p95 are nearest-rank.",
        "probes": rows,
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


HEADLINE = ("rank", "model", "asked", "passed", "flagged", "rewritten", "blocked", "failed", "p50 ms", "p95 ms")


def headline_rows(report: dict) -> list[list[str]]:
    out = []
    for rank, name in enumerate(report["ranking"], 1):
        s = report["models"][name]["overall"]
        out.append([str(rank), name, str(s["n"]), _pct(s["pass_rate"]), _pct(s["flag_rate"]),
                    _pct(s["rewrite_rate"]), _pct(s["block_rate"]), _pct(s["error_rate"]),
                    _ms(s["latency_p50_ms"]), _ms(s["latency_p95_ms"])])
    return out


def format_table(report: dict) -> str:
    """The headline table as Markdown-style text for the terminal."""
    rows = [list(HEADLINE), *headline_rows(report)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADLINE))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    versions = ", ".join(c["curriculum"] for c in report["countries"].values())
    return "\n".join(lines) + f"\njudged by: {versions}"
