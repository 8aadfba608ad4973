"""How well the embedding model reads a language the curricula use, measured on the curricula's own examples.

    python bench/language_coverage.py --lint lint.json --lang tet pt ms

Three figures per language, for a country folder's README (Tetum is not among multilingual-e5's training
languages; Lao and Burmese are thin):

- lint: of the language's must-match examples, how many the rules catch with the example itself hidden, and of
  its near-misses, how many are wrongly caught (read from a `supervisor lint --json` report, so the figures are
  the lint's own);
- separation: for each must-match example, its nearest other must-match example of the same rule against its
  nearest near-miss of the same category; the margin (match minus near-miss) is what the semantic check decides
  on, so a small or negative margin means the language's examples are told apart by words, not meaning;
- alignment: a sentence against its own translation (the rules' examples are written in parallel, item by item,
  where a rule gives the same number in both languages) against an unrelated sentence of the same language. A
  model that reads the language by meaning puts a translation nearer than an unrelated sentence in the same
  language; one that reads it by surface form does the opposite.

No timing, no thresholds fitted: a description of the shipped examples, rerun after editing them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from supervisor.rules.loader import load_curricula  # noqa: E402
from supervisor.services import make_embedder  # noqa: E402
from supervisor.settings import load_settings  # noqa: E402


def lint_figures(report: dict, curricula: dict, langs: list[str]) -> dict:
    """Per (country, language): must-match tested and missed, near-misses tested and wrongly caught."""
    out: dict = defaultdict(lambda: {"match": 0, "missed": 0, "no_match": 0, "false_alarms": 0})
    tested = {(r["curriculum"], r["rule"]): r for r in report["rules"]}
    for (country, rule_id), rep in tested.items():
        cur = curricula[country]
        rule = cur.rule(rule_id)
        for lang in langs:
            if country != "baseline" and lang not in cur.languages:
                continue
            row = out[f"{country}/{lang}"]
            row["match"] += len(rule.match_examples.get(lang, ()))
            row["no_match"] += len(rule.no_match_examples.get(lang, ()))
            row["missed"] += sum(m["lang"] == lang for m in rep["missed"])
            row["false_alarms"] += sum(m["lang"] == lang for m in rep["false_alarms"])
    return {k: v for k, v in sorted(out.items()) if v["match"] or v["no_match"]}


def separation(curricula: dict, embed, lang: str) -> dict:
    """Nearest same-rule match and nearest same-category near-miss of each must-match example in `lang`."""
    margins, rules_seen = [], set()
    for cur in curricula.values():
        for rule in cur.rules:
            if rule.id in rules_seen or len(rule.match_examples.get(lang, ())) < 2:
                continue
            rules_seen.add(rule.id)
            near = [t for r in cur.rules if r.category == rule.category for t in r.no_match_examples.get(lang, ())]
            if not near:
                continue
            match = embed(list(rule.match_examples[lang]))
            sims = match @ match.T
            np.fill_diagonal(sims, -1.0)
            to_near = (match @ embed(near).T).max(axis=1)
            margins.extend((sims.max(axis=1) - to_near).tolist())
    m = np.array(margins)
    return {"examples": len(m), "mean_margin": round(float(m.mean()), 4) if len(m) else None,
            "share_nearer_a_near_miss": round(float((m <= 0).mean()), 3) if len(m) else None}


def alignment(curricula: dict, embed, lang: str, pivot: str) -> dict:
    """Cosine of a `lang` example to its `pivot` translation, against unrelated `lang` and `pivot` sentences."""
    pairs = []
    seen = set()
    for cur in curricula.values():
        for rule in cur.rules:
            if rule.id in seen:
                continue
            seen.add(rule.id)
            for table in (rule.match_examples, rule.no_match_examples):
                a, b = table.get(lang, ()), table.get(pivot, ())
                if a and len(a) == len(b):
                    pairs.extend(zip(a, b, strict=True))
    if len(pairs) < 3:
        return {"pairs": len(pairs)}
    va = embed([a for a, _ in pairs])
    vb = embed([b for _, b in pairs])
    translation = (va * vb).sum(axis=1)
    same_lang = va @ va.T
    cross = va @ vb.T
    np.fill_diagonal(same_lang, np.nan)
    np.fill_diagonal(cross, np.nan)
    return {"pairs": len(pairs), "to_translation": round(float(translation.mean()), 4),
            f"to_unrelated_{lang}": round(float(np.nanmean(same_lang)), 4),
            f"to_unrelated_{pivot}": round(float(np.nanmean(cross)), 4),
            "translation_is_nearest": round(float((translation > np.nanmax(same_lang, axis=1)).mean()), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lint", type=Path, help="a `supervisor lint --json` report of the countries to describe")
    parser.add_argument("--lang", nargs="+", default=["tet", "pt"])
    parser.add_argument("--pivot", default="en", help="the language the translations are compared with")
    args = parser.parse_args()
    settings = load_settings()
    curricula = load_curricula(settings.curricula_dir)
    embedder = make_embedder(settings)
    out: dict = {}
    if args.lint:
        out["lint"] = lint_figures(json.loads(args.lint.read_text()), curricula, args.lang)
    for lang in args.lang:
        out[lang] = {"separation": separation(curricula, embedder.embed, lang),
                     "alignment": alignment(curricula, embedder.embed, lang, args.pivot)}
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
