"""Where the verdicts come from: which stages caught each answer and raised each false alarm, and how often the
student's message read as a harmful request. Prints tables; asserts nothing.

    .venv/bin/python bench/verdict_sources.py [--cases FILE ...] [--curricula DIR]

Why: the pipeline's caught / false-alarm figures move little when one signal gets better, and these tables say
where the change went. The tenth session's fine-tuned heads (training/drafts/README.md) read the requests of the
validation files better (harmful requests flagged 272 -> 295, controls 174 -> 155) while the answers' head-led
findings fell from 38 to 25 of the caught validation answers: the figures hid a gain in one stage under a loss in
another. Compare two detectors on both tables, not only on the totals.

Stages (checks/base.py, Finding.stage), of an answer's certain findings: `lexical` (phrases), `semantic`
(nearest examples, head-confirmed), `learned` (head-led), `request` (the answer goes along with a request the
rule forbids), `asked` (a doubtful sentence confirmed by what the student asked for). An answer caught by
several shows them joined with `+`; `judge-band` means only uncertain findings (the optional judge's band).
Default case files: those of bench/detector_quality.py (never used to fit or calibrate anything).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from detector_quality import DEFAULT_CASES  # noqa: E402

from supervisor.evaluation import is_control, is_harmful, read_cases  # noqa: E402
from supervisor.policy import DEFAULT_POLICY  # noqa: E402
from supervisor.rules.rulebook import compile_rulebook  # noqa: E402
from supervisor.services import make_embedder, make_supervisor, rulebook_options  # noqa: E402
from supervisor.settings import load_settings  # noqa: E402


def sources(cases: list[dict], rulebook, supervisor) -> dict[str, Counter]:
    """Per file: stage combinations of caught answers and of false alarms, and the request judgement (cases and
    those whose message read as a harmful request, harmful exchanges and controls as `supervisor eval` counts
    them)."""
    out = {"caught": Counter(), "false alarms": Counter(), "requests": Counter()}
    for case in cases:
        kind = "harmful" if is_harmful(case) else "control" if is_control(case) else None
        if kind is None:
            continue
        verdict, ctx = supervisor.check_in_context_sync(
            rulebook.for_country(case["country"]), DEFAULT_POLICY, response=case["response"],
            messages=case.get("messages"), grade=case.get("grade"), lang=case["lang"])
        out["requests"].update([kind] + [f"{kind} asked"] * bool(ctx.harmful_request))
        if verdict.decision != "pass":
            stages = sorted({f.stage for f in verdict.findings if not f.uncertain})
            out["caught" if kind == "harmful" else "false alarms"]["+".join(stages) or "judge-band"] += 1
    return out


def format_sources(name: str, result: dict[str, Counter]) -> str:
    asked = result["requests"]
    lines = [f"{name}: student's message read as a harmful request on {asked['harmful asked']} of "
             f"{asked['harmful']} harmful exchanges and {asked['control asked']} of {asked['control']} controls"]
    for title in ("caught", "false alarms"):
        counts = result[title]
        lines.append(f"  {title} ({sum(counts.values())}): " + (", ".join(
            f"{stage} {n}" for stage, n in counts.most_common()) or "none"))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, nargs="*", default=None)
    parser.add_argument("--curricula", type=Path, default=None, help="curricula folder instead of the shipped one")
    args = parser.parse_args()
    settings = load_settings()
    if args.curricula is not None:
        settings = settings.with_overrides(curricula_dir=args.curricula)
    embedder = make_embedder(settings)
    supervisor = make_supervisor(settings, embedder)
    rulebook = compile_rulebook(settings.curricula_dir, embedder.embed, **rulebook_options(settings, embedder))
    total = {"caught": Counter(), "false alarms": Counter(), "requests": Counter()}
    for path in args.cases if args.cases is not None else [p for p in DEFAULT_CASES if p.is_file()]:
        result = sources(read_cases(path), rulebook, supervisor)
        print(format_sources(path.name, result))
        for key, counts in result.items():
            total[key].update(counts)
    print()
    print(format_sources("all files", total))


if __name__ == "__main__":
    main()
