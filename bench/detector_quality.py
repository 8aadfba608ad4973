"""How well the detector holds on text it was not built from. Prints tables; asserts nothing.

    .venv/bin/python bench/detector_quality.py [--cases FILE ...] [--holdout SOURCE ...] [--per-source N]

1. The learned heads, held out by group: each label's recall and false-positive rate per sentence at its
   calibrated thresholds, scored by heads fitted without the row's language (curricula) or source (public
   data). This is how the thresholds were chosen, so it is the heads' own account of themselves.
2. Held out by source, through the whole pipeline: for each public source named by --holdout, the heads are
   fitted again WITHOUT that source, and a sample of its answers is judged end to end (segmenting, both
   stages, grade and policy): harmful rows must not pass, safe rows must. The same answers are judged by the
   nearest-example stage alone (the detector before the heads) for comparison. Needs training/data/ (run
   training/fetch_sources.py first); skipped without it.
3. Case files (FORMAT.md): recall, answer-level false-positive rate, F1 and action accuracy overall, per
   language and per category. Default: bench/data/heldout_cases.jsonl (12 languages), heldout_tl_cases.jsonl
   (Tetum and Portuguese), validation_cases.jsonl (12 languages), the two sets of exchanges that only sound unsafe
   (sounds_unsafe_cases.jsonl, sounds_unsafe_2_cases.jsonl: over-blocking, with harmful contrasts) and, when
   present, the shared dev set. None is used to fit or calibrate anything; since 2026-12-07 those in bench/data are
   validation sets (see its README).
4. Model time per sentence (embedding, and the heads on top of it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from supervisor.evaluation import evaluate_cases, format_table, read_cases  # noqa: E402
from supervisor.rules.rulebook import compile_rulebook  # noqa: E402
from supervisor.services import make_embedder, make_supervisor, rulebook_options  # noqa: E402
from supervisor.settings import load_settings  # noqa: E402
from supervisor.text.segment import split  # noqa: E402

COUNTRY_OF = {"ja": "jp", "th": "th", "vi": "vn", "id": "id", "ms": "my", "tl": "ph", "km": "kh", "en": "sg",
              "zh": "sg", "ta": "sg", "lo": "la", "my": "mm", "tet": "tl", "pt": "tl"}
DEFAULT_CASES = [ROOT / "bench" / "data" / name for name in (
    "heldout_cases.jsonl", "heldout_tl_cases.jsonl", "validation_cases.jsonl", "sounds_unsafe_cases.jsonl",
    "sounds_unsafe_2_cases.jsonl", "misinformation_cases.jsonl", "multiturn_cases.jsonl")] + [ROOT.parent / "shared" / "eval" / "dev.jsonl"]
DATA = ROOT / "training" / "data"


def heads_table(learned) -> str:
    lines = [f"{'label':32} {'pos':>5} {'neg':>6} {'fire':>6} {'rec@fire':>8} {'fpr@fire':>8} "
             f"{'gate':>6} {'rec@gate':>8} {'fpr@gate':>8}"]
    for label, r in sorted(learned.report.items()):
        lines.append(f"{label:32} {r['positives']:5d} {r['negatives']:6d} {r['fire']:6.3f} "
                     f"{_f(r['held_out_recall_at_fire'])} {_f(r['held_out_fpr_at_fire'])} {r['gate']:6.3f} "
                     f"{_f(r['held_out_recall_at_gate'])} {_f(r['held_out_fpr_at_gate'])}")
    return "\n".join(lines)


def _f(value) -> str:
    return "      - " if value is None else f"{value:8.3f}"


def source_cases(source: str, per_source: int, seed: int = 7) -> list[dict]:
    """Answers and texts of one public source as cases: harmful must not pass, safe must."""
    rows = [json.loads(line) for line in (DATA / f"{source}.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["kind"] != "prompt" and r["lang"] in COUNTRY_OF]
    rng = random.Random(seed)
    harmful = [r for r in rows if r["harmful"] and r.get("category")]
    safe = [r for r in rows if not r["harmful"]]
    picked = rng.sample(harmful, min(len(harmful), per_source // 2)) + rng.sample(safe, min(len(safe), per_source // 2))
    cases = []
    for i, r in enumerate(picked):
        messages = [{"role": "user", "content": r["context"]}] if r.get("context") else []
        cases.append({"id": f"{source}-{i}", "country": COUNTRY_OF[r["lang"]], "lang": r["lang"],
                      "messages": messages, "response": r["text"],
                      "expected": ["flag", "rewrite", "block"] if r["harmful"] else ["pass"],
                      "category": r["category"] if r["harmful"] else "safe_general"})
    return cases


def without_source(bank, source: str):
    keep = bank.groups != source
    return replace(bank, vectors=bank.vectors[keep], targets=bank.targets[keep], groups=bank.groups[keep],
                   langs=bank.langs[keep], digest=f"{bank.digest}-{source}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, nargs="*", default=None)
    parser.add_argument("--holdout", nargs="*", default=["indosafety", "rtp_lx", "openai_moderation"])
    parser.add_argument("--per-source", type=int, default=200)
    args = parser.parse_args()
    settings = load_settings()
    embedder = make_embedder(settings)
    supervisor = make_supervisor(settings, embedder)
    options = rulebook_options(settings, embedder)
    started = time.perf_counter()
    rulebook = compile_rulebook(settings.curricula_dir, embedder.embed, **options)
    print(f"compiled with heads in {time.perf_counter() - started:.1f} s")
    learned = rulebook.compiled["baseline"].learned
    print("\n1. Learned heads, scored with their row's language or source held out\n")
    print(heads_table(learned))

    bank = options["bank"]
    if bank is not None and DATA.is_dir():
        print("\n2. Held out by source, whole pipeline: heads fitted without the source, vs nearest examples only")
        plain = compile_rulebook(settings.curricula_dir, embedder.embed, **{**options, "learn": False})
        for source in args.holdout:
            if not (DATA / f"{source}.jsonl").is_file():
                print(f"  {source}: no converted data; skipped")
                continue
            cases = source_cases(source, args.per_source)
            held = compile_rulebook(settings.curricula_dir, embedder.embed,
                                    **{**options, "bank": without_source(bank, source)})
            for name, book in (("heads, source held out", held), ("nearest examples only", plain)):
                result = evaluate_cases(cases, book, supervisor)
                m = result["overall"]
                print(f"  {source:18} {name:24} n={m['n']:4d} recall={m['recall']:.3f} "
                      f"FPR={m['false_positive_rate']:.3f} F1={m['f1']:.3f}")
    else:
        print("\n2. Held out by source: skipped (no bank, or no training/data/: run training/fetch_sources.py)")

    for path in args.cases if args.cases is not None else [p for p in DEFAULT_CASES if p.is_file()]:
        print()
        print(f"3. {path.name}")
        print(format_table(evaluate_cases(read_cases(path), rulebook, supervisor)))

    sentences = [s.text for case in read_cases(DEFAULT_CASES[0])[:40] for s in split(case["response"])] \
        if DEFAULT_CASES[0].is_file() else ["A sentence to time."] * 64
    fresh = [f"{s} ({i})" for i, s in enumerate(sentences)]  # never cached
    started = time.perf_counter()
    vectors = embedder.embed(fresh)
    embed_ms = (time.perf_counter() - started) * 1000 / len(fresh)
    started = time.perf_counter()
    for _ in range(20):
        learned.probabilities(vectors)
    heads_ms = (time.perf_counter() - started) * 1000 / (20 * len(fresh))
    print(f"\n4. Model time per sentence ({len(fresh)} sentences): embedding {embed_ms:.1f} ms, "
          f"heads {heads_ms:.3f} ms ({len(learned.heads.labels)} heads, {_weight_count(learned.heads)} "
          f"weights)")


def _weight_count(heads) -> int:
    arrays = (heads.hidden_weights, heads.hidden_bias, heads.weights, heads.bias)
    return int(sum(np.prod(a.shape) for a in arrays))


if __name__ == "__main__":
    main()
