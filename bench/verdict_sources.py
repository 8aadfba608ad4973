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
from collections import Counter
from pathlib import Path

# (each sets up the repository's import path and litellm's local cost map on import)
from detector_quality import DEFAULT_CASES
from verdict_snapshot import snapshot, stages


def sources(cases: list[dict]) -> dict[str, Counter]:
    """Stage combinations of caught answers and of false alarms, and the request judgement (cases, and those whose
    message read as a harmful request), from a verdict snapshot's cases (bench/verdict_snapshot.py)."""
    out = {"caught": Counter(), "false alarms": Counter(), "requests": Counter()}
    for case in cases:
        kind = case["kind"]
        out["requests"].update([kind] + [f"{kind} asked"] * case["asked"])
        if case["decision"] != "pass":
            out["caught" if kind == "harmful" else "false alarms"][stages(case)] += 1
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
    paths = [p for p in (args.cases if args.cases is not None else DEFAULT_CASES) if p.is_file()]
    judged = snapshot(paths, args.curricula)
    for path in paths:
        print(format_sources(path.name, sources([c for c in judged if c["file"] == path.name])))
    print()
    print(format_sources("all files", sources(judged)))


if __name__ == "__main__":
    main()
