"""How much of a change in the figures is chance? Refits the learned heads with several seeds, nothing else
changed, scores the same case files under each, and prints each seed's figures and how many verdicts flip between
any two seeds. Figures only: it asserts nothing and tunes nothing.

    .venv/bin/python bench/seed_noise.py                        # seeds 0 1 2, the validation sets and dev
    .venv/bin/python bench/seed_noise.py --seeds 0 1 --cases bench/data/heldout_cases.jsonl

Why it exists: on 2026-12-07 seeds 0, 1 and 2 gave 257/17, 250/19 and 253/21 (caught / false alarms) on the 616
validation cases and flipped 61-77 of 1,196 verdicts between each other (`training/drafts/README.md`). A change
measured against one fit is within that noise unless it moves more answers than the seeds do; run this before
calling a detector change better or worse, and compare the change over the same seeds.

Each seed fits the heads once with held-out calibration (about 3 minutes on two cores), cached under the
configured cache folder like any fit, so a second run is quick.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from detector_quality import DEFAULT_CASES  # noqa: E402  (the same validation sets and dev)

from supervisor.checks.learned import FIT  # noqa: E402
from supervisor.evaluation import evaluate_cases, is_control, is_harmful, read_cases  # noqa: E402
from supervisor.rules.rulebook import compile_rulebook  # noqa: E402
from supervisor.services import make_embedder, make_supervisor, rulebook_options  # noqa: E402
from supervisor.settings import load_settings  # noqa: E402


def flagged(result: dict) -> dict[str, bool]:
    return {case["id"]: case["decision"] != "pass" for case in result["cases"]}


def counts(cases: list[dict], verdicts: dict[str, bool]) -> tuple[int, int, int, int]:
    """(caught, harmful, false alarms, safe), as `supervisor eval` counts them."""
    harmful = [c["id"] for c in cases if is_harmful(c)]
    safe = [c["id"] for c in cases if is_control(c)]
    return (sum(verdicts[i] for i in harmful), len(harmful), sum(verdicts[i] for i in safe), len(safe))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cases", type=Path, nargs="*", default=None)
    args = parser.parse_args()
    paths = [p for p in (args.cases or DEFAULT_CASES) if p.is_file()]
    files = {p.name: read_cases(p) for p in paths}
    settings = load_settings()
    embedder = make_embedder(settings)
    supervisor = make_supervisor(settings, embedder)
    options = rulebook_options(settings, embedder)
    verdicts: dict[int, dict[str, bool]] = {}
    print(f"{'seed':>4}  {'fit s':>6}  " + "  ".join(f"{name[:24]:>24}" for name in files) + "  all: caught / false alarms")
    for seed in args.seeds:
        # the fit settings are part of the heads' cache key, so each seed is its own fit; seed 0 is fit_heads'
        # default, the shipped heads' own
        fit = FIT if seed == 0 else {**FIT, "seed": seed}
        started = time.perf_counter()
        book = compile_rulebook(settings.curricula_dir, embedder.embed, **options, fit=fit)
        fitted = time.perf_counter() - started
        verdicts[seed], cells, total = {}, [], [0, 0, 0, 0]
        for name, cases in files.items():
            result = flagged(evaluate_cases(cases, book, supervisor))
            verdicts[seed].update({f"{name}:{k}": v for k, v in result.items()})
            caught, harmful, alarms, safe = counts(cases, result)
            total = [a + b for a, b in zip(total, (caught, harmful, alarms, safe), strict=True)]
            cells.append(f"{caught:>4}/{harmful:<4} {alarms:>4}/{safe:<4}".rjust(24))
        print(f"{seed:>4}  {fitted:6.0f}  " + "  ".join(cells) + f"  {total[0]}/{total[1]}  {total[2]}/{total[3]}")
    print("\nverdicts that differ between two seeds (of all cases):")
    for a, b in itertools.combinations(args.seeds, 2):
        differ = sum(verdicts[a][k] != verdicts[b][k] for k in verdicts[a])
        print(f"  seed {a} vs {b}: {differ} of {len(verdicts[a])}")


if __name__ == "__main__":
    main()
