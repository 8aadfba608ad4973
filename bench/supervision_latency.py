"""Supervisor latency for one answer, by language and length, on the shipped curricula. Prints a table.

    .venv/bin/python bench/supervision_latency.py [--tokens 300] [--repeat 30]

An answer of N tokens is built from the curricula's everyday lesson sentences in that language (never the
evaluation set), counted with the bundled model's own tokenizer. The embedding cache is cleared before every
run, so each figure is a cold check of new text, as a fresh upstream answer would be.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supervisor.policy import DEFAULT_POLICY  # noqa: E402
from supervisor.services import make_embedder, make_rulebook, make_supervisor  # noqa: E402
from supervisor.settings import load_settings  # noqa: E402

COUNTRY = {"ja": "jp", "th": "th", "vi": "vn", "id": "id", "km": "kh", "en": "sg"}


def answer_of(sentences: list[str], tokens: int, count) -> str:
    out, i = [], 0
    while count(" ".join(out)) < tokens and sentences:
        out.append(sentences[i % len(sentences)])
        i += 1
    return " ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, nargs="+", default=[300])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--langs", nargs="+", default=list(COUNTRY))
    args = parser.parse_args()
    settings = load_settings()
    embedder = make_embedder(settings)
    rulebook = make_rulebook(settings, embedder)
    supervisor = make_supervisor(settings, embedder)
    count = embedder.backend._model.token_count if hasattr(embedder.backend, "_model") else (lambda t: len(t) // 4)
    print(f"{'lang':5} {'tokens':>6} {'chars':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for lang in args.langs:
        compiled = rulebook.for_country(COUNTRY[lang])
        pool = list(compiled.curriculum.lessons.get(lang, ()))
        if not pool:
            print(f"{lang:5} (no lesson sentences in this language)")
            continue
        for tokens in args.tokens:
            times, n_sentences = [], 0
            for r in range(args.repeat):
                rotated = pool[r % len(pool):] + pool[: r % len(pool)]
                text = answer_of(rotated, tokens, count)
                embedder._cache.clear()
                start = time.perf_counter()
                verdict = supervisor.check_sync(compiled, DEFAULT_POLICY, response=text, grade=8, lang=lang)
                times.append((time.perf_counter() - start) * 1000)
                n_sentences = len(text)
                del verdict
            times.sort()
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"{lang:5} {tokens:6d} {n_sentences:9d} {statistics.median(times):8.1f} {p99:8.1f}")



if __name__ == "__main__":
    main()
