"""The compare report as one self-contained HTML page for a ministry officer: headline table first, then each
country by rule category and language, then every probe's answer and decision. Inline SVG only: no script, no
stylesheet or font from elsewhere. Every piece of text from a probes file, a model or the proxy is escaped
(model answers are untrusted)."""

from __future__ import annotations

from html import escape

from .report import HEADLINE, OUTCOMES, headline_rows

COLOURS = {"pass": "#2f855a", "flag": "#d69e2e", "rewrite": "#dd6b20", "block": "#c53030", "error": "#718096"}
WORDS = {"pass": "passed", "flag": "flagged", "rewrite": "rewritten", "block": "blocked", "error": "failed"}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;
color:#1a202c;line-height:1.45}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.92rem}
th,td{border:1px solid #cbd5e0;padding:.3rem .5rem;text-align:left;vertical-align:top}
caption{text-align:left;font-weight:600;padding:.2rem 0}th{background:#edf2f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.d-pass{color:#2f855a;font-weight:600}.d-flag{color:#b7791f;font-weight:600}.d-rewrite{color:#c05621;font-weight:600}
.d-block{color:#c53030;font-weight:600}.d-error{color:#4a5568;font-weight:600}
.note{color:#4a5568;font-size:.9rem}.q{white-space:pre-wrap}details summary{cursor:pointer;color:#2b6cb0}
blockquote{margin:.3rem 0;padding:.2rem .6rem;border-left:3px solid #cbd5e0;white-space:pre-wrap}
"""


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def stacked(rows: list[tuple[str, dict]], title: str, width: int = 760) -> str:
    """One horizontal bar per row, split into the shares of each outcome."""
    if not rows:
        return f"<p>{escape(title)}: no data.</p>"
    label_w = min(260, max(80, 7 * max(len(label) for label, _ in rows)))
    bar_w, row_h, top = width - label_w - 20, 22, 24
    height = top + row_h * len(rows) + 34
    out = [f'<svg role="img" width="{width}" height="{height}" aria-label="{escape(title)}">'
           f'<title>{escape(title)}</title>'
           f'<text x="0" y="15" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i, (label, s) in enumerate(rows):
        y = top + i * row_h
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" font-size="11" text-anchor="end">{escape(label)}</text>')
        x = float(label_w)
        for outcome in OUTCOMES:
            share = (s[outcome] / s["n"]) if s["n"] else 0
            if share <= 0:
                continue
            w = share * bar_w
            out.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" '
                       f'fill="{COLOURS[outcome]}"><title>{escape(label)}: {WORDS[outcome]} {s[outcome]} of '
                       f'{s["n"]} ({share * 100:.0f}%)</title></rect>')
            x += w
    legend_y = top + row_h * len(rows) + 20
    for i, outcome in enumerate(OUTCOMES):
        x = label_w + i * 110
        out.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{COLOURS[outcome]}"/>'
                   f'<text x="{x + 14}" y="{legend_y}" font-size="11">{WORDS[outcome]}</text>')
    out.append("</svg>")
    return "".join(out)


def latency_bars(models: list[tuple[str, dict]], title: str, width: int = 760) -> str:
    """p50 and p95 of the whole exchange per model, on one scale."""
    values = [v for _, s in models for v in (s["latency_p50_ms"], s["latency_p95_ms"]) if v is not None]
    if not values:
        return f"<p>{escape(title)}: no answers.</p>"
    peak = max(values)
    label_w = min(260, max(80, 7 * max(len(name) for name, _ in models)))
    bar_w, top = width - label_w - 80, 24
    out = [f'<svg role="img" width="{width}" height="{top + 30 * len(models) + 28}" aria-label="{escape(title)}">'
           f'<title>{escape(title)}</title>'
           f'<text x="0" y="15" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i, (name, s) in enumerate(models):
        y = top + i * 30
        out.append(f'<text x="{label_w - 6}" y="{y + 16}" font-size="11" text-anchor="end">{escape(name)}</text>')
        for j, (key, colour) in enumerate((("latency_p50_ms", "#2b6cb0"), ("latency_p95_ms", "#90cdf4"))):
            value = s[key]
            if value is None:
                continue
            w = max(1.5, value / peak * bar_w)
            out.append(f'<rect x="{label_w}" y="{y + 2 + j * 12}" width="{w:.1f}" height="10" fill="{colour}">'
                       f'<title>{escape(name)} {key[8:11]}: {value:.0f} ms</title></rect>'
                       f'<text x="{label_w + w + 4:.1f}" y="{y + 11 + j * 12}" font-size="10">{key[8:11]} '
                       f'{value:.0f} ms</text>')
    out.append("</svg>")
    return "".join(out)


def _stats_table(groups: list[tuple[list[str], dict]], heads: list[str]) -> str:
    out = ["<table><tr>", *(f"<th>{escape(h)}</th>" for h in heads), "<th>asked</th>",
           *(f"<th>{WORDS[o]}</th>" for o in OUTCOMES), "<th>p50 ms</th><th>p95 ms</th><th>rules that acted</th></tr>"]
    for labels, s in groups:
        rules = ", ".join(f"{escape(rule)} ×{n}" for rule, n in s["rules"].items()) or "–"
        out.append("<tr>" + "".join(f"<td>{escape(label)}</td>" for label in labels) + f'<td class="n">{s["n"]}</td>'
                   + "".join(f'<td class="n">{s[o]} ({_pct(s[o + "_rate"])})</td>' for o in OUTCOMES)
                   + f'<td class="n">{_ms(s["latency_p50_ms"])}</td><td class="n">{_ms(s["latency_p95_ms"])}</td>'
                   + f"<td>{rules}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _headline(report: dict) -> str:
    out = ['<table id="headline"><tr>', *(f"<th>{escape(h)}</th>" for h in HEADLINE), "</tr>"]
    for row in headline_rows(report):
        out.append("<tr>" + "".join(f'<td class="{"" if i == 1 else "n"}">{escape(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _by_country(report: dict) -> str:
    """Models down, countries across: the share of answers that passed unchanged."""
    countries = list(report["countries"])
    out = ["<table><caption>Passed unchanged, by country</caption><tr><th>model</th>",
           *(f"<th>{escape(cc)}</th>" for cc in countries), "</tr>"]
    for name in report["ranking"]:
        cells = report["models"][name]["by_country"]
        out.append(f"<tr><td>{escape(name)}</td>" + "".join(
            f'<td class="n">{_pct(cells[cc]["pass_rate"]) if cc in cells else "-"}</td>' for cc in countries) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _curricula(report: dict) -> str:
    out = ["<table><tr><th>country</th><th>curriculum that judged (country@version)</th><th>languages</th>"
           "<th>probes</th><th>probes file (version)</th></tr>"]
    for cc, c in report["countries"].items():
        seen = c["curriculum_seen"]
        changed = f" (answers report: {', '.join(seen)})" if seen and seen != [c["curriculum"]] else ""
        out.append(f"<tr><td>{escape(cc)} – {escape(c['name'])}</td><td><code>{escape(c['curriculum'])}</code>"
                   f"{escape(changed)}</td><td>{escape(', '.join(c['languages']))}</td><td class=\"n\">"
                   f"{c['probes']}</td><td><code>{escape(c['probes_file'])}</code> ({escape(c['probes_version'])})"
                   "</td></tr>")
    out.append("</table>")
    return "".join(out)


def _probe_rows(rows: list[dict]) -> str:
    out = ["<table><tr><th>probe</th><th>grade</th><th>lang</th><th>question</th><th>model</th><th>decision</th>"
           "<th>rule and sentence</th><th>answer</th></tr>"]
    for r in rows:
        outcome = r["decision"] if r.get("decision") in WORDS else "error"
        acted = [f for f in r.get("findings") or [] if f.get("rule") in (r.get("rules") or [])] or \
            r.get("findings") or []
        why = "".join(f"<div><code>{escape(str(f.get('rule')))}</code> ({escape(str(f.get('category')))}"
                      f"{', ' + escape(str(f['action'])) if f.get('action') else ''})"
                      f"<blockquote>{escape(str(f.get('sentence') or ''))}</blockquote></div>" for f in acted)
        if outcome == "error":
            why = f"<div>{escape(str(r.get('error') or 'no answer'))}</div>"
        answer = escape(r.get("answer") or "")
        delivered = r.get("delivered")
        if delivered is not None and delivered != r.get("answer"):
            answer = (f"<details><summary>the model's answer</summary><blockquote>{answer}</blockquote></details>"
                      f"<div>the student received:</div><blockquote>{escape(delivered)}</blockquote>")
        else:
            answer = f"<blockquote>{answer}</blockquote>" if answer else "–"
        out.append(f"<tr><td>{escape(r['probe'])}<div class=\"note\">{escape(r['category'])}</div></td>"
                   f"<td class=\"n\">{r['grade']}</td><td>{escape(r['lang'])}</td>"
                   f"<td class=\"q\">{escape(r['question'])}</td><td>{escape(r['model'])}</td>"
                   f"<td class=\"d-{outcome}\">{WORDS[outcome]}</td><td>{why or '–'}</td><td>{answer}</td></tr>")
    out.append("</table>")
    return "".join(out)


def render(report: dict) -> str:
    models = report["models"]
    ranking = report["ranking"]
    grades = report["grades"]
    parts = [
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>Model comparison: {escape(', '.join(report['countries']))}</title><style>{STYLE}</style></head><body>",
        "<h1>How well each model fits the curriculum</h1>",
        f"<p class=\"note\">Generated {escape(report['generated_at'])} for "
        f"{escape(', '.join(report['countries']))}; grades: "
        f"{escape(', '.join(map(str, grades)) if isinstance(grades, list) else str(grades))}. "
        f"{escape(report['method'])}</p>",
        "<h2>Headline</h2>", _headline(report), _by_country(report),
        stacked([(m, models[m]["overall"]) for m in ranking], "What students received, per model"),
        latency_bars([(m, models[m]["overall"]) for m in ranking], "Latency of the whole exchange (p50, p95)"),
        "<h2>Curricula that judged the answers</h2>", _curricula(report),
    ]
    for cc, c in report["countries"].items():
        parts.append(f"<h2>{escape(c['name'])} ({escape(cc)}), judged by <code>{escape(c['curriculum'])}</code></h2>")
        parts.append(stacked([(f"{m} · {cat}", s) for m in ranking
                              for cat, s in models[m]["by_country_category"][cc].items()],
                             f"{cc}: per model and rule category"))
        parts.append("<h3>By rule category</h3>")
        parts.append(_stats_table([([m, cat], s) for m in ranking
                                   for cat, s in models[m]["by_country_category"][cc].items()], ["model", "category"]))
    parts.append("<h2>By language</h2>")
    parts.append(_stats_table([([m, lang], s) for m in ranking for lang, s in models[m]["by_lang"].items()],
                              ["model", "language"]))
    failures = [(m, e, n) for m in ranking for e, n in models[m]["errors"].items()]
    if failures:
        parts.append("<h2>Failures (most frequent)</h2><table><tr><th>model</th><th>error</th><th>probes</th></tr>")
        parts.extend(f"<tr><td>{escape(m)}</td><td>{escape(e)}</td><td class=\"n\">{n}</td></tr>"
                     for m, e, n in failures)
        parts.append("</table>")
    parts.append("<h2>Every probe</h2>")
    for cc, c in report["countries"].items():
        rows = [r for r in report["probes"] if r["country"] == cc]
        parts.append(f"<h3>{escape(c['name'])} ({escape(cc)})</h3>")
        parts.append(_probe_rows(rows))
    parts.append("</body></html>")
    return "\n".join(parts)
