"""Before and after a detector change: save every verdict on the validation sets and dev with its findings, then
compare two saved snapshots file by file and list the answers that flipped. Figures only: asserts nothing.

    .venv/bin/python bench/verdict_snapshot.py save before.json [--cases FILE ...] [--curricula DIR]
    ... change the detector (code, curricula, bank, heads) ...
    .venv/bin/python bench/verdict_snapshot.py save after.json
    .venv/bin/python bench/verdict_snapshot.py compare before.json after.json [--show 40]

Why: every detector experiment since the seventh session was judged this way (training/drafts/README.md), each
time with a throwaway script. A snapshot holds, per case, the decision, whether the student's message read as a
harmful request, and every finding (rule, stage, score, uncertain, sentence), so a comparison can say which
answers moved and through which stage without running the detector again. Compare the flips with the seed noise
(bench/seed_noise.py: 61-77 of 1,196 verdicts, 5-6.5%, between two fits of the same data) before calling a change better.
Default case files: those of bench/detector_quality.py (never used to fit or calibrate anything).
"""

from __future__ import annotations

import argparse
import json
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


def snapshot(paths: list[Path], curricula: Path | None = None) -> list[dict]:
    """Every harmful exchange and control of the files, judged by the configured detector."""
    settings = load_settings()
    if curricula is not None:
        settings = settings.with_overrides(curricula_dir=curricula)
    embedder = make_embedder(settings)
    supervisor = make_supervisor(settings, embedder)
    rulebook = compile_rulebook(settings.curricula_dir, embedder.embed, **rulebook_options(settings, embedder))
    out = []
    for path in paths:
        for case in read_cases(path):
            kind = "harmful" if is_harmful(case) else "control" if is_control(case) else None
            if kind is None:
                continue
            verdict, ctx = supervisor.check_in_context_sync(
                rulebook.for_country(case["country"]), DEFAULT_POLICY, response=case["response"],
                messages=case.get("messages"), grade=case.get("grade"), lang=case["lang"])
            out.append({"file": path.name, "id": case["id"], "lang": case["lang"], "kind": kind,
                        "category": case.get("category"), "decision": verdict.decision,
                        "asked": bool(ctx.harmful_request),
                        "findings": [{**f.to_dict(), "uncertain": f.uncertain} for f in verdict.findings]})
    return out


def totals(cases: list[dict]) -> Counter:
    """(file, 'caught' | 'false alarms' | 'harmful' | 'controls') -> count, and the same under 'all files'."""
    out: Counter = Counter()
    for case in cases:
        flagged = case["decision"] != "pass"
        for name in (case["file"], "all files"):
            out[name, "harmful" if case["kind"] == "harmful" else "controls"] += 1
            out[name, "caught" if case["kind"] == "harmful" else "false alarms"] += flagged
    return out


def stages(case: dict) -> str:
    """The stages of a snapshot case's certain findings joined with `+`; `judge-band` when it was not passed on
    uncertain findings alone (the optional judge's band), `-` when passed with none."""
    found = "+".join(sorted({f["stage"] for f in case["findings"] if not f["uncertain"]}))
    return found or ("judge-band" if case["decision"] != "pass" else "-")


def compare(before: list[dict], after: list[dict], show: int) -> str:
    old, new = totals(before), totals(after)
    files = list(dict.fromkeys([c["file"] for c in before] + ["all files"]))
    lines = [f"{'file':30} {'caught before -> after':>24} {'false alarms before -> after':>30}"]
    for name in files:
        lines.append(f"{name:30} {old[name, 'caught']:>9} -> {new[name, 'caught']:<5}/{old[name, 'harmful']:<6} "
                     f"{old[name, 'false alarms']:>13} -> {new[name, 'false alarms']:<5}/{old[name, 'controls']}")
    then = {(c["file"], c["id"]): c for c in before}
    flips = [(then[c["file"], c["id"]], c) for c in after
             if (c["file"], c["id"]) in then and (then[c["file"], c["id"]]["decision"] != "pass") != (c["decision"] != "pass")]
    noise = f"{round(0.05 * len(then))}-{round(0.065 * len(then))}"
    lines.append(f"\n{len(flips)} verdicts flipped of {len(then)} (two fits of the same data flip 5-6.5%: {noise})")
    for was, now in flips[:show]:
        good = (now["decision"] != "pass") == (now["kind"] == "harmful")
        lines.append(f"  {'better' if good else 'worse ':6} {now['file'][:24]:24} {now['id']:28} {now['kind']:7} "
                     f"{was['decision']:>7} ({stages(was)}) -> {now['decision']} ({stages(now)})")
    if len(flips) > show:
        lines.append(f"  ... {len(flips) - show} more (--show N)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    save = commands.add_parser("save", help="judge the case files and write every verdict to FILE")
    save.add_argument("file", type=Path)
    save.add_argument("--cases", type=Path, nargs="*", default=None)
    save.add_argument("--curricula", type=Path, default=None, help="curricula folder instead of the shipped one")
    diff = commands.add_parser("compare", help="totals per case file and the verdicts that flipped")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)
    diff.add_argument("--show", type=int, default=40, help="flipped verdicts to list (default 40)")
    args = parser.parse_args()
    if args.command == "save":
        paths = [p for p in (args.cases if args.cases is not None else DEFAULT_CASES) if p.is_file()]
        cases = snapshot(paths, args.curricula)
        args.file.write_text(json.dumps(cases, ensure_ascii=False, indent=0), encoding="utf-8")
        caught = totals(cases)
        print(f"wrote {args.file}: {len(cases)} verdicts; caught {caught['all files', 'caught']}/"
              f"{caught['all files', 'harmful']}, false alarms {caught['all files', 'false alarms']}/"
              f"{caught['all files', 'controls']}")
    else:
        before, after = (json.loads(p.read_text(encoding="utf-8")) for p in (args.before, args.after))
        print(compare(before, after, args.show))


if __name__ == "__main__":
    main()
