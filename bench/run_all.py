"""Every benchmark in one command; each prints its table. Figures only: nothing here passes or fails.

    .venv/bin/python bench/run_all.py            # full sizes (tens of minutes on a 2-core machine)
    .venv/bin/python bench/run_all.py --quick    # small sizes: proves the harness works, figures are rough

Targets (issues 7 and 17), for reading the tables: supervision ≤ 100 ms p50 for a 300-token answer; proxy
overhead with supervision off no more than LiteLLM proxy's; ≥ 15 supervised 300-token answers/s at 8 clients; RSS
≤ 1.5 GB; zero errors and zero lost records at 32 concurrent streams; first streamed text ≤ 60 ms after the
upstream ended the first sentence; first start ≤ 60 s, restart ≤ 5 s until the first answer is judged.
The engine is the configured one (SUPERVISOR_EMBEDDER, default onnxruntime); `engines` compares both.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import engines
import proxy_overhead
import startup
import supervision_latency
import throughput
from harness import COUNTRY, PYTHON, ROOT, load_average


def audit(records: int) -> str:
    """bench/audit_throughput.py (the audit chain's write cost), run as it is run on its own."""
    done = subprocess.run([PYTHON, str(ROOT / "bench" / "audit_throughput.py"), "--records", str(records)],
                          capture_output=True, text=True, check=True)
    return done.stdout.rstrip()


def streaming(runs: int) -> str:
    """bench/streaming.py, run as it is run on its own (it serves upstream and proxy in its own process)."""
    done = subprocess.run([PYTHON, str(ROOT / "bench" / "streaming.py"), "--runs", str(runs)],
                          capture_output=True, text=True, check=True)
    return done.stdout.rstrip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benchmarks run")
    parser.add_argument("--only", nargs="+", choices=["engines", "latency", "overhead", "throughput", "streaming",
                                                      "startup", "audit"])
    args = parser.parse_args()
    sizes = ({"repeat": 3, "requests": 10, "per_client": 2, "records": 200, "sentences": 8, "runs": 1} if args.quick
             else {"repeat": 30, "requests": 50, "per_client": 8, "records": 2000, "sentences": 40, "runs": 5})
    started = time.monotonic()
    print(f"# edu-supervisor benchmarks ({'quick' if args.quick else 'full'}), load average at start "
          f"{load_average()}", flush=True)
    jobs = {
        "engines": lambda: engines.run(sizes["sentences"]),
        "latency": lambda: supervision_latency.run([50, 300, 1000], list(COUNTRY), sizes["repeat"]),
        "overhead": lambda: proxy_overhead.run(sizes["requests"]),
        "throughput": lambda: throughput.run([1, 8, 32], sizes["per_client"]),
        "streaming": lambda: streaming(sizes["runs"]),
        "startup": lambda: startup.run(),
        "audit": lambda: audit(sizes["records"]),
    }
    failed = False
    for name, job in jobs.items():
        if args.only and name not in args.only:
            continue
        print(f"\n## {name}", flush=True)
        try:
            print(job(), flush=True)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others' figures
            failed = True
            print(f"{name} failed: {type(exc).__name__}: {exc}", flush=True)
    print(f"\n# done in {time.monotonic() - started:.0f}s, load average at end {load_average()}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
