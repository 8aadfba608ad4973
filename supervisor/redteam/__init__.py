"""`supervisor redteam`: attack prompts through the real proxy, per upstream model, country and language.

cases.py (the case files) → runner.py (proxy in-process, HTTP, raw and supervised arms) → harm.py (did the
harm get through, judged by the case's markers, never by the supervisor) → report.py (rates, JSON) →
html.py (the page a ministry reads). scripted.py is the offline stand-in for a compromised model.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..settings import Settings
from .cases import ATTACKS_FILE, BENIGN_FILE, read_attacks, read_benign
from .runner import RunOptions, run

__all__ = ["ATTACKS_FILE", "BENIGN_FILE", "RunOptions", "redteam"]


def redteam(settings: Settings, attack_file: Path, benign_file: Path | None, options: RunOptions,
            countries: list[str] | None = None, json_out: Path | None = None, html_out: Path | None = None,
            limit: int | None = None) -> dict:
    """Run the red team and write the reports asked for; returns the report."""
    from .html import render
    from .report import build_report

    attacks = read_attacks(attack_file)
    benign, skipped = read_benign(benign_file) if benign_file else ([], 0)
    if countries:
        wanted = {c.lower() for c in countries}
        attacks = [c for c in attacks if c.country in wanted]
        benign = [c for c in benign if c.country in wanted]
    if limit:
        attacks, benign = attacks[:limit], benign[:limit]
    rows = run(settings, attacks + benign, options)
    report = build_report(rows, upstreams=list(options.upstreams), attack_file=str(attack_file),
                          benign_file=str(benign_file) if benign_file else None, benign_skipped=skipped,
                          stream=options.stream, grade=options.grade)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if html_out:
        html_out.parent.mkdir(parents=True, exist_ok=True)
        html_out.write_text(render(report), encoding="utf-8")
    return report
