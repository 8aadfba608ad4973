"""`supervisor compare`: a neutral yardstick for upstream models, owned by each country's ministry.

plan.py (each country's curriculum and probes, which grade and language is asked) → upstreams.py (the
models, checked before anything runs) → runner.py (the real proxy in-process, one school per country and
model, over HTTP) → report.py (rates, rules, latency, ranking; JSON) → html.py (the page a ministry reads).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..settings import Settings
from .plan import load_countries, plan
from .runner import RunOptions, run
from .upstreams import resolve

__all__ = ["HTML_NAME", "JSON_NAME", "RunOptions", "compare"]

JSON_NAME, HTML_NAME = "compare.json", "compare.html"


def compare(settings: Settings, upstream_names: list[str], countries: list[str], out: Path,
            grades: list[int] | None = None, options: RunOptions | None = None) -> dict:
    """Ask, judge, report: writes `out/compare.json` and `out/compare.html`, returns the report. Every check
    of the arguments (models, countries, probes files) happens before the first question is sent."""
    from .html import render
    from .report import build_report

    options = options or RunOptions(workdir=out / "proxy")
    upstreams = resolve(upstream_names, settings)
    loaded = load_countries(settings.curricula_dir, countries)
    asks = plan(loaded, grades)
    rows = run(settings, asks, upstreams, options)
    report = build_report(rows, list(upstreams), loaded, grades, options.concurrency)
    out.mkdir(parents=True, exist_ok=True)
    (out / JSON_NAME).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / HTML_NAME).write_text(render(report), encoding="utf-8")
    return report
