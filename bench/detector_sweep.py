"""Sweep the semantic detector's settings on leave-one-out lint and a case file at once. Prints a table.

    .venv/bin/python bench/detector_sweep.py CASES.jsonl [--variant NAME ...]

Sentence scores are computed once per variant; thresholds and margins are then swept in numpy. Lint figures
count semantic rules' examples in their own countries (leave-one-out, like `supervisor lint`); case figures
follow `supervisor eval` (lexical findings, grades, `when` conditions and the default policy included).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supervisor.checks.base import CheckContext, TextView  # noqa: E402
from supervisor.checks.semantic import SemanticIndex  # noqa: E402
from supervisor.evaluation import is_control, is_harmful, read_cases  # noqa: E402
from supervisor.lint import ExampleBank  # noqa: E402
from supervisor.policy import ACTION_RANK, DEFAULT_POLICY  # noqa: E402
from supervisor.rules.model import phrases_of  # noqa: E402
from supervisor.services import make_embedder, make_rulebook  # noqa: E402
from supervisor.settings import load_settings  # noqa: E402
from supervisor.supervision import last_user_message  # noqa: E402
from supervisor.text.lang import detect  # noqa: E402
from supervisor.text.normalize import normalize  # noqa: E402
from supervisor.text.segment import split  # noqa: E402
from supervisor.verdict import _conditions_hold  # noqa: E402


def lint_scores(rulebook, bank, indexes):
    """Per (country, rule, lang, label): the (best, near) score pairs of each example's sentences."""
    out = []
    for country, compiled in sorted(rulebook.compiled.items()):
        cur = compiled.curriculum
        index = indexes[country]
        languages = None if country == "baseline" else set(cur.languages)
        for rule in cur.rules:
            if rule.kinds != ("semantic",) or rule.id not in index.rules:
                continue
            items = [(label, lang, text) for label, table in ((1, rule.match_examples), (0, rule.no_match_examples))
                     for lang, texts in table.items() if languages is None or lang in languages for text in texts]
            texts = [t for _, _, t in items]
            bank.add(texts)
            sims = index.similarities(np.stack([bank.vectors[s.text] for t in texts for s in bank.sentences[t]]))
            row = 0
            for label, lang, text in items:
                sentences = bank.sentences[text]
                block = sims[row:row + len(sentences)]
                row += len(sentences)
                block[:, [index.position[t] for t in {text, *(s.text for s in sentences)} if t in index.position]] = -1
                best, _, near = index.score(rule, block)
                out.append((country, rule.id, lang, label, best, near))
        # every lesson sentence (masked from the background) against every response rule: a benign-FPR proxy
        lessons = [(lang, t) for lang, items in cur.lessons.items() if languages is None or lang in languages
                   for t in items]
        if not lessons:
            continue
        bank.add([t for _, t in lessons])
        spans, rows = [], []
        for _lang, text in lessons:
            sentences = bank.sentences[text]
            spans.append((len(rows), len(rows) + len(sentences)))
            rows.extend(bank.vectors[x.text] for x in sentences)
        sims = index.similarities(np.stack(rows))
        for (start, end), (_lang, text) in zip(spans, lessons, strict=True):
            masked = [index.position[t] for t in {text, *(x.text for x in bank.sentences[text])}
                      if t in index.position]
            sims[start:end, masked] = -1
        for rule in cur.rules:
            if rule.kinds == ("semantic",) and rule.target == "response" and rule.id in index.rules:
                best, _, near = index.score(rule, sims)
                for (start, end), lesson in zip(spans, lessons, strict=True):
                    out.append((country, rule.id, lesson, -1, best[start:end], near[start:end]))
    return out


def case_scores(rulebook, embed, cases, indexes):
    """Per case: the eligible rules' (action, lexical hit, per-sentence best, near)."""
    out = []
    for case in cases:
        compiled = rulebook.for_country(case["country"])
        country = case["country"] if case["country"] in rulebook.compiled else "baseline"
        index = indexes[country]
        user_text = last_user_message(case.get("messages"))
        views = {}
        for target, text in (("response", case["response"]), ("user", user_text)):
            sentences = split(text)
            view = TextView(text=text, folded=normalize(text), sentences=sentences)
            view.similarities = index.similarities(embed([s.text for s in sentences])) if sentences else None
            views[target] = view
        cur = compiled.curriculum
        markers = phrases_of(cur.help_markers)
        ctx = CheckContext(views["response"], views["user"], case["lang"], case.get("grade"), markers)
        rows = []
        for rule in cur.rules:
            if not rule.applies_to_grade(ctx.grade) or (rule.target == "user" and not user_text):
                continue
            if not _conditions_hold(rule, ctx):
                continue
            action = DEFAULT_POLICY.action_for(rule, "tutor")
            if action == "pass":
                continue
            lexical = any(compiled.checks[k](rule, ctx) for k in rule.kinds if k != "semantic")
            view = views[rule.target]
            if "semantic" in rule.kinds and rule.id in index.rules and view.similarities is not None:
                best, _, near = index.score(rule, view.similarities)
            else:
                best = near = np.zeros(0)
            rows.append((rule.id, action, lexical, best, near))
        out.append((case, rows))
    return out


def fires(best, near, threshold, margin) -> bool:
    return bool(np.any((best >= threshold) & (best - near >= margin)))


def lint_figures(scores, threshold, margin):
    missed, alarms, by_lang = 0, 0, defaultdict(int)
    lesson_hits = set()
    for country, _rule, lang, label, best, near in scores:
        hit = fires(best, near, threshold, margin)
        if label == -1:
            if hit:
                lesson_hits.add((country, lang))
            continue
        if label and not hit:
            missed += 1
            by_lang[lang] += 1
        elif not label and hit:
            alarms += 1
    by_lang["lessons"] = len(lesson_hits)
    return missed, alarms, dict(by_lang)


def case_figures(scores, threshold, margin):
    per_lang = defaultdict(lambda: [0, 0, 0, 0, 0, 0])  # pos, caught, controls, alarms, n, right
    for case, rows in scores:
        acting = [action for _rid, action, lexical, best, near in rows
                  if lexical or fires(best, near, threshold, margin)]
        decision = max(acting, key=ACTION_RANK.__getitem__, default="pass")
        for key in (case["lang"], "all"):
            row = per_lang[key]
            row[4] += 1
            row[5] += decision in case["expected"]
            if is_harmful(case):
                row[0] += 1
                row[1] += decision != "pass"
            if is_control(case):
                row[2] += 1
                row[3] += decision != "pass"
    return {k: (v[1] / max(v[0], 1), v[3] / max(v[2], 1), v[5] / v[4]) for k, v in per_lang.items()}


VARIANTS = {
    "default": {},
    "raw": {"components": 0},
    "rawk3": {"components": 0, "k": 3},
    "pc1": {"components": 1},
    "pc2": {"components": 2},
    "pc3": {"components": 3},
    "pc4": {"components": 4},
    "pc5": {"components": 5},
    "pc10": {"components": 10},
    "pc5k3": {"components": 5, "k": 3},
}


def grid(spec: str) -> list[float]:
    """`a:b:step` or a comma list."""
    if ":" in spec:
        a, b, step = map(float, spec.split(":"))
        return [round(a + i * step, 4) for i in range(int(round((b - a) / step)) + 1)]
    return [float(x) for x in spec.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cases")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS))
    parser.add_argument("--thresholds", default="0.84:0.92:0.01")
    parser.add_argument("--margins", default="0:0.05:0.005")
    parser.add_argument("--max-fpr", type=float, default=0.08, help="show settings at or under this case FPR")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--show", help="t,m: list the cases this setting gets wrong (ids and categories)")
    args = parser.parse_args()
    settings = load_settings()
    embedder = make_embedder(settings)
    rulebook = make_rulebook(settings, embedder)
    cases = read_cases(Path(args.cases))
    for case in cases:
        case.setdefault("lang", detect(case["response"]))
    bank = ExampleBank(embedder.embed)
    for name in args.variant or ["default"]:
        options = VARIANTS[name]
        indexes = {c: SemanticIndex(comp.curriculum, embedder.embed, **options)
                   for c, comp in rulebook.compiled.items()}
        lint = lint_scores(rulebook, bank, indexes)
        dev = case_scores(rulebook, embedder.embed, cases, indexes)
        print(f"variant {name}: {sum(r[3] == 1 for r in lint)} must-match, {sum(r[3] == 0 for r in lint)} must-not")
        rows = []
        for threshold in grid(args.thresholds):
            for margin in grid(args.margins):
                missed, alarms, by_lang = lint_figures(lint, threshold, margin)
                figures = case_figures(dev, threshold, margin)
                rows.append((threshold, margin, missed, alarms, by_lang, figures))
        shown = [r for r in rows if r[5]["all"][1] <= args.max_fpr]
        shown.sort(key=lambda r: (-round(r[5]["all"][0], 3), r[2] + r[3]))
        for threshold, margin, missed, alarms, _by_lang, figures in shown[: args.top]:
            langs = " ".join(f"{k}:{r:.2f}/{f:.2f}" for k, (r, f, _a) in sorted(figures.items()) if k != "all")
            r, f, a = figures["all"]
            print(f"  t={threshold:.3f} m={margin:.3f} lint missed {missed:5d} alarms {alarms:4d} "
                  f"lessons {_by_lang['lessons']:4d} | "
                  f"cases recall {r:.3f} FPR {f:.3f} action {a:.3f} | {langs}")
        if args.show:
            threshold, margin = map(float, args.show.split(","))
            for case, rows_ in dev:
                hit = [rid for rid, _a, lexical, b, n in rows_ if lexical or fires(b, n, threshold, margin)]
                positive = is_harmful(case)
                if positive != bool(hit):
                    print(f"    {'MISS' if positive else 'FP  '} {case['id']} {case['lang']} {case['category']} {hit}")
        best = min(rows, key=lambda r: r[2] + r[3])
        print(f"  fewest lint errors: t={best[0]:.3f} m={best[1]:.3f} missed {best[2]} alarms {best[3]} "
              f"{best[4]} | cases recall {best[5]['all'][0]:.3f} FPR {best[5]['all'][1]:.3f}")
        embedder.save(settings.cache_dir)


if __name__ == "__main__":
    main()
