"""Supervisor latency for one answer, by language and length, on the shipped curricula. Prints a table.

    .venv/bin/python bench/supervision_latency.py [--tokens 50 300 1000] [--langs ja th vi id km en] [--repeat 30]

An answer of N tokens is built from the curricula's everyday lesson sentences in that language (never the
evaluation set), counted with the bundled model's own tokenizer. The embedding cache and the supervisor's
per-sentence similarity rows are cleared before every run, and the vectors shipped for the curricula's
sentences forgotten, so each figure is a cold check of new text, as a fresh upstream answer would be. (Until
2026-12-04 only the embedding cache was cleared; the rows cache then served most sentences and the figures were
several times too low.) This is the check alone (fold, split, embed, rules), in-process, without HTTP or the
upstream: the figure the ≤100 ms target is about.
"""

from __future__ import annotations

import argparse
import time

from harness import COUNTRY, answer_of, load_average, p, table, token_counter


def run(tokens: list[int], langs: list[str], repeat: int = 30) -> str:
    from supervisor.policy import DEFAULT_POLICY
    from supervisor.services import make_embedder, make_rulebook, make_supervisor
    from supervisor.settings import load_settings
    from supervisor.text.segment import split

    settings = load_settings()
    embedder = make_embedder(settings)
    rulebook = make_rulebook(settings, embedder, countries=sorted({COUNTRY[lang] for lang in langs}))
    supervisor = make_supervisor(settings, embedder)
    count = token_counter(embedder)
    rows = []
    for lang in langs:
        compiled = rulebook.for_country(COUNTRY[lang])
        pool = list(compiled.curriculum.lessons.get(lang, ()))
        if not pool:
            rows.append([lang, "-", "-", "-", "no lesson sentences in this language", "-"])
            continue
        for n in tokens:
            times, text = [], ""
            for r in range(repeat):
                rotated = pool[r % len(pool):] + pool[: r % len(pool)]
                text = answer_of(rotated, n, count)
                embedder.forget()         # new text for the model (cached and shipped vectors) ...
                supervisor._rows.clear()  # ... and for the per-sentence similarity rows kept for streams
                start = time.perf_counter()
                supervisor.check_sync(compiled, DEFAULT_POLICY, response=text, grade=8, lang=lang)
                times.append((time.perf_counter() - start) * 1000)
            rows.append([lang, n, len(text), len(split(text)), p(times, 50), p(times, 99)])
    return "\n".join([
        f"supervision latency (check only, cold cache, {repeat} answers per cell, "
        f"{settings.embedder_backend} {settings.embedder_threads or 'default'} threads), load average {load_average()}",
        table(["lang", "tokens", "chars", "sentences", "p50 ms", "p99 ms"], rows),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[50, 300, 1000])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--langs", nargs="+", default=list(COUNTRY), choices=sorted(COUNTRY))
    args = parser.parse_args()
    print(run(args.tokens, args.langs, args.repeat))


if __name__ == "__main__":
    main()
