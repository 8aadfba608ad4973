"""The red-team report as one self-contained HTML page: inline SVG charts, no script, no external resource.

Every piece of text that came from a case file, a model or the proxy is escaped: attack prompts and model
answers are untrusted by definition, and the page is meant to be opened by people in a browser.
"""

from __future__ import annotations

from html import escape

from .report import COLUMNS

COLOURS = {"recall": "#2b6cb0", "false alarms": "#c05621", "attack success with supervisor": "#9b2c2c",
           "attack success without supervisor": "#a0aec0"}


def bars(groups: dict[str, dict[str, float | None]], title: str, width: int = 760) -> str:
    """Grouped vertical bars of rates in [0, 1]; one group per key (a language), one bar per series."""
    series = list(dict.fromkeys(s for values in groups.values() for s in values))
    if not groups or not series:
        return f"<p>{escape(title)}: no data.</p>"
    left, top, height = 40, 30, 180
    longest = max(len(part) for g in groups for part in str(g).split("_"))
    group_w = max(60, 6 * longest + 8, (width - left - 10) // max(1, len(groups)))  # labels must not overlap
    bar_w = max(6, (group_w - 14) // len(series))
    width = left + group_w * len(groups) + 10
    out = [f'<svg role="img" width="{width}" height="{top + height + 80}" '
           f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
           f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + height - tick * height
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.0f}" y2="{y:.0f}" stroke="#e2e8f0"/>'
                   f'<text x="{left - 4}" y="{y + 4:.0f}" font-size="10" text-anchor="end">{tick * 100:.0f}%</text>')
    for gi, (group, values) in enumerate(groups.items()):
        x0 = left + gi * group_w + 7
        for si, name in enumerate(series):
            value = values.get(name)
            x = x0 + si * bar_w
            if value is None:
                out.append(f'<text x="{x + bar_w / 2:.0f}" y="{top + height - 3}" font-size="9" '
                           f'text-anchor="middle">–</text>')
                continue
            h = max(value * height, 1.5)  # a zero is a visible sliver, a missing value is a dash
            out.append(f'<rect x="{x}" y="{top + height - h:.1f}" width="{bar_w - 2}" height="{h:.1f}" '
                       f'fill="{COLOURS.get(name, "#4a5568")}"><title>{escape(group)} · {escape(name)}: '
                       f'{value * 100:.1f}%</title></rect>')
        label_x = x0 + group_w / 2 - 7
        lines = "".join(f'<tspan x="{label_x:.0f}" dy="{0 if i == 0 else 11}">{escape(part)}</tspan>'
                        for i, part in enumerate(str(group).split("_")))  # supervisor_injection on two lines
        out.append(f'<text y="{top + height + 14}" font-size="10" text-anchor="middle">{lines}</text>')
    for si, name in enumerate(series):
        y = top + height + 42 + 14 * (si // 2)
        x = left + (si % 2) * 300
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{COLOURS.get(name, "#4a5568")}"/>'
                   f'<text x="{x + 14}" y="{y}" font-size="11">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def histogram(values: list[float], title: str, unit: str = "ms", bins: int = 16, width: int = 520) -> str:
    if not values:
        return f"<p>{escape(title)}: no data.</p>"
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - low) / span * bins))] += 1
    left, top, height = 36, 24, 140
    bar_w = (width - left - 10) / bins
    peak = max(counts)
    out = [f'<svg role="img" width="{width}" height="{top + height + 34}" '
           f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
           f'<text x="{left}" y="14" font-size="13" font-weight="bold">{escape(title)}</text>',
           f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>']
    for i, c in enumerate(counts):
        h = c / peak * height
        lo = low + i * span / bins
        out.append(f'<rect x="{left + i * bar_w:.1f}" y="{top + height - h:.1f}" width="{bar_w - 1:.1f}" '
                   f'height="{h:.1f}" fill="#2b6cb0"><title>{lo:.0f}–{lo + span / bins:.0f} {unit}: {c}</title></rect>')
    out.append(f'<text x="{left}" y="{top + height + 14}" font-size="10">{low:.0f} {unit}</text>'
               f'<text x="{width - 10}" y="{top + height + 14}" font-size="10" text-anchor="end">{high:.0f} {unit}'
               f'</text><text x="{width / 2:.0f}" y="{top + height + 28}" font-size="10" text-anchor="middle">'
               f'{len(values)} requests</text></svg>')
    return "".join(out)


def confusion_table(table: dict[str, dict[str, int]]) -> str:
    peak = max((v for row in table.values() for v in row.values()), default=0) or 1
    head = "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
    body = []
    for name, row in table.items():
        cells = "".join(f'<td style="background:rgba(43,108,176,{0.08 + 0.6 * row[c] / peak:.2f})">{row[c]}</td>'
                        for c in COLUMNS)
        body.append(f"<tr><th scope=row>{escape(name)}</th>{cells}</tr>")
    return (f'<table class="cm"><caption>decision (columns) against what was expected (rows)</caption>'
            f"<tr><th></th>{head}</tr>{''.join(body)}</table>")


def _pct(value) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _summary_row(name: str, m: dict) -> str:
    return (f"<tr><th scope=row>{escape(name)}</th><td>{m['attacks']}</td><td>{_pct(m['asr_without_supervisor'])}</td>"
            f"<td>{_pct(m['asr_with_supervisor'])}</td><td>{_pct(m['recall'])}</td>"
            f"<td>{_pct(m['recall_right_category'])}</td><td>{m['benign']}</td>"
            f"<td>{_pct(m['false_alarm_rate'])}</td><td>{m['attack_errors'] + m['benign_errors']}</td></tr>")


SUMMARY_HEAD = ("<tr><th></th><th>attacks</th><th>attack success without supervisor</th>"
                "<th>attack success with supervisor</th><th>recall</th><th>recall for the right reason</th>"
                "<th>benign answers</th>"
                "<th>false alarms</th><th>errors</th></tr>")


def _excerpt(text: str | None, limit: int = 240) -> str:
    if text is None:
        return "<em>no answer</em>"
    return escape(text if len(text) <= limit else text[:limit] + "…")


def render(report: dict) -> str:
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width, initial-scale=1'>",
        "<title>Red-team report: edu-supervisor</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1a202c}",
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #cbd5e0;padding:4px 8px;font-size:13px;"
        "text-align:left;vertical-align:top}table.cm td{text-align:right;min-width:3em}",
        ".note{background:#f7fafc;border-left:4px solid #2b6cb0;padding:.5em 1em}.harm{color:#9b2c2c;font-weight:bold}",
        "</style></head><body>",
        "<h1>Red-team report</h1>",
        f"<p>Generated {escape(report['generated_at'])}. Upstream models: "
        f"{', '.join(escape(u) for u in report['upstreams'])}. Attack set: {escape(report['attack_file'])}; "
        f"benign set: {escape(report['benign_file'] or 'none')}. Answers were {'streamed' if report['stream'] else 'not streamed'}; "
        f"cases without a grade were sent as grade {report['default_grade']}.</p>",
        "<h2>How to read it</h2>",
        f"<p class=note>{escape(report['harm_judge']['explanation'])}</p>",
        f"<pre class=note>{escape(report['definitions'])}</pre>",
        "<h2>Summary</h2>",
        f"<table>{SUMMARY_HEAD}",
        *(_summary_row(name, m["overall"]) for name, m in report["models"].items()),
        "</table>",
    ]
    for name, m in report["models"].items():
        langs = sorted(set(m["by_lang"]))
        per_lang = {lang: {"recall": m["by_lang"][lang]["recall"],
                           "false alarms": m["by_lang"][lang]["false_alarm_rate"],
                           "attack success with supervisor": m["by_lang"][lang]["asr_with_supervisor"]}
                    for lang in langs}
        per_technique = {t: {"attack success without supervisor": x["asr_without_supervisor"],
                             "attack success with supervisor": x["asr_with_supervisor"]}
                         for t, x in m["by_technique"].items()}
        parts += [
            f"<h2>Model: {escape(name)}</h2>",
            bars(per_lang, f"{name}: recall, false alarms and attack success by language"),
            bars(per_technique, f"{name}: attack success by technique"),
            confusion_table(m["confusion"]),
            "<h3>By country</h3>", f"<table>{SUMMARY_HEAD}",
            *(_summary_row(k, x) for k, x in m["by_country"].items()), "</table>",
            "<h3>By harm category</h3>", f"<table>{SUMMARY_HEAD}",
            *(_summary_row(k, x) for k, x in m["by_category"].items()), "</table>",
            "<h3>Latency</h3>",
            histogram([r["latency_ms"] for r in report["cases"] if r["model"] == name and r.get("latency_ms")],
                      f"{name}: time to the student's answer through the proxy"),
            histogram([r["supervision_ms"] for r in report["cases"]
                       if r["model"] == name and r.get("supervision_ms") is not None],
                      f"{name}: supervision time (checks, rewrites and re-checks)"),
        ]
    parts += ["<h2>Cases</h2><table><tr><th>model</th><th>case</th><th>country / lang</th><th>technique</th>"
              "<th>category</th><th>decision</th><th>raw answer harmful</th><th>student got harm</th><th>rules (categories)</th>"
              "<th>what the student received</th></tr>"]
    for r in report["cases"]:
        def flag(value) -> str:
            return "–" if value is None else ("<span class=harm>yes</span>" if value else "no")

        decision = r.get("decision") or f"error: {r.get('error')}"
        parts.append(
            f"<tr><td>{escape(r['model'])}</td><td title='{escape(r.get('target') or '')}'>{escape(r['id'])}</td>"
            f"<td>{escape(r['country'])} / {escape(r['lang'])}</td><td>{escape(r['technique'])}</td>"
            f"<td>{escape(r['category'])}</td><td>{escape(str(decision))}</td><td>{flag(r.get('raw_harmful'))}</td>"
            f"<td>{flag(r.get('delivered_harmful'))}</td><td>{escape(', '.join(r.get('rules') or []))} "
            f"({escape(', '.join(r.get('rule_categories') or []))})</td>"
            f"<td>{_excerpt(r.get('delivered_text'))}</td></tr>")
    parts.append("</table></body></html>\n")
    return "\n".join(parts)
