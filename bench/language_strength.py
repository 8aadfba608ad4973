"""How well the bundled embedding model separates a language's rule examples: per country and language, the
leave-one-out lint figures and the semantic stage's separation. Prints a table (or JSON).

    .venv/bin/python bench/language_strength.py la mm kh th [--json]

For every rule example of a country (its own rules and the baseline's) in the country's languages:
- caught / tested: what `supervisor lint` reports (leave-one-out, learned heads included);
- margin: best must-match similarity minus best near-miss similarity (after the index's projection, the
  example itself masked), the larger over the example's sentences. The semantic stage fires at
  similarity >= threshold and margin >= the configured margin; a language the model reads thinly shows
  small margins for must-match examples and margins near those of its near-misses;
- separation: mean margin of must-match examples minus mean margin of must-not examples.
Written for the country READMEs (curricula/la, curricula/mm): Lao and Burmese are thin in e5-small.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supervisor.lint import ExampleBank, firing  # noqa: E402
from supervisor.services import make_embedder, make_rulebook  # noqa: E402
from supervisor.settings import load_settings  # noqa: E402


def margins(rule, index, bank, texts) -> list[float]:
    """Per text: the larger (best match − best near miss) over its sentences, the text itself masked."""
    bank.add(texts)
    rows = [bank.vectors[s.text] for t in texts for s in bank.sentences[t]]
    sims = index.similarities(np.stack(rows))
    out, row = [], 0
    for text in texts:
        sentences = bank.sentences[text]
        block = sims[row:row + len(sentences)]
        row += len(sentences)
        block[:, [index.position[t] for t in {text, *(s.text for s in sentences)} if t in index.position]] = -1
        best, _, near = index.score(rule, block)
        out.append(float((best - near).max()))
    return out


def measure(rulebook, embed, country: str) -> dict:
    compiled = rulebook.compiled[country]
    cur, index = compiled.curriculum, compiled.index
    bank = ExampleBank(embed)
    stats: dict[tuple[str, str], dict] = defaultdict(lambda: {"match": 0, "caught": 0, "no_match": 0,
                                                               "false_alarms": 0, "m_match": [], "m_no": []})
    for rule in cur.rules:
        if "semantic" not in rule.kinds or rule.id not in index.rules:
            continue
        scope = "own" if rule.origin != "baseline" else "baseline"
        for lang in cur.languages:
            must = list(rule.match_examples.get(lang, ()))
            must_not = list(rule.no_match_examples.get(lang, ()))
            if not must and not must_not:
                continue
            fired = firing(rule, compiled, must + must_not, bank)
            s = stats[(lang, scope)]
            s["match"] += len(must)
            s["caught"] += sum(fired[:len(must)])
            s["no_match"] += len(must_not)
            s["false_alarms"] += sum(fired[len(must):])
            if must:
                s["m_match"] += margins(rule, index, bank, must)
            if must_not:
                s["m_no"] += margins(rule, index, bank, must_not)
    out = {}
    for (lang, scope), s in sorted(stats.items()):
        mm, mn = np.asarray(s["m_match"]), np.asarray(s["m_no"])
        out[f"{lang}/{scope}"] = {
            "match": s["match"], "caught": s["caught"],
            "recall": round(s["caught"] / s["match"], 3) if s["match"] else None,
            "no_match": s["no_match"], "false_alarms": s["false_alarms"],
            "margin_match": round(float(mm.mean()), 3) if len(mm) else None,
            "margin_no_match": round(float(mn.mean()), 3) if len(mn) else None,
            "separation": round(float(mm.mean() - mn.mean()), 3) if len(mm) and len(mn) else None,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("countries", nargs="+")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = load_settings()
    embedder = make_embedder(settings)
    # every curriculum, as `supervisor lint curricula` and the proxy compile them: the learned heads are fitted
    # on all of them (and then come from the cache a full lint run left)
    rulebook = make_rulebook(settings, embedder)
    report = {c: measure(rulebook, embedder.embed, c) for c in args.countries}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{'country':8}{'lang/rules':16}{'caught':>12}{'recall':>8}{'false alarms':>14}"
          f"{'margin+':>9}{'margin-':>9}{'separation':>12}")
    for country, rows in report.items():
        for key, r in rows.items():
            print(f"{country:8}{key:16}{r['caught']:>6}/{r['match']:<5}{r['recall'] or 0:>8.3f}"
                  f"{r['false_alarms']:>8}/{r['no_match']:<5}{r['margin_match'] or 0:>9.3f}"
                  f"{r['margin_no_match'] or 0:>9.3f}{r['separation'] or 0:>12.3f}")


if __name__ == "__main__":
    main()
