"""Throughput and tail latency of the supervising proxy at 1, 8 and 32 concurrent clients, streamed and not;
errors and lost records (requests sent minus exchanges recorded in the proxy's database: a failed request is
recorded too, with its error); the serving process's peak memory (VmHWM).

    .venv/bin/python bench/throughput.py [--clients 1 8 32] [--requests-per-client 8] [--tokens 300]
                                         [--lang en] [--chunk-delay 0] [--unsupervised]

Each client sends its next request when the previous answer has fully arrived. Every answer is new text, so
the supervisor's cache does not flatter it. --chunk-delay paces the upstream's stream (seconds per chunk of 4
characters) like a model generating; the default 0 measures the proxy alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from harness import (
    COUNTRY,
    lesson_pool,
    load_average,
    p,
    run_load,
    sentences_of,
    start_fake_upstream,
    start_proxy,
    table,
    token_counter,
    workdir,
)


def run(clients: list[int], per_client: int = 8, tokens: int = 300, lang: str = "en", chunk_delay: float = 0.0,
        supervised: bool = True) -> str:
    folder = workdir()
    rows, servers, kinds = [], [], {}
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [s.stop() for s in servers])
        upstream = start_fake_upstream(folder, sentences_of(lesson_pool(lang), tokens, token_counter()),
                                       chunk_delay=chunk_delay)
        servers.append(upstream)
        proxy = start_proxy(folder, upstream, supervised=supervised, school=f"demo-{COUNTRY[lang]}")
        servers.append(proxy)
        asyncio.run(run_load(proxy.url, proxy.key, 1, 3, False))  # warm-up: first-request costs
        for stream in (False, True):
            for n in clients:
                before = proxy.records()
                requests = max(per_client * n, 4)
                load = asyncio.run(run_load(proxy.url, proxy.key, n, requests, stream))
                lost = requests - (proxy.records() - before)
                rows.append([n, "yes" if stream else "no", requests, load.ok, len(load.errors), lost,
                             load.ok / load.elapsed_s if load.elapsed_s else 0.0, p(load.latencies_ms, 50),
                             p(load.latencies_ms, 99), p(load.first_byte_ms, 50) if stream else "-"])
                if load.errors:
                    kinds[(n, stream)] = sorted(set(load.errors))
        peak = proxy.peak_rss_mb()
    mode = "supervised" if supervised else "UNSUPERVISED (benchmark_unsupervised)"
    return "\n".join([
        f"throughput: {mode} proxy, {tokens}-token {lang} answers, upstream chunk delay {chunk_delay}s, "
        f"load average {load_average()}",
        table(["clients", "stream", "sent", "ok", "errors", "lost records", "answers/s", "p50 ms", "p99 ms",
               "first byte p50 ms"], rows),
        f"peak RSS of the serving process (VmHWM): {peak:.0f} MB" if peak else "peak RSS: unavailable",
        *(f"errors at {n} clients, {'streamed' if s else 'not streamed'}: {', '.join(k)}"
          for (n, s), k in kinds.items()),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests-per-client", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--lang", default="en", choices=sorted(COUNTRY))
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    parser.add_argument("--unsupervised", action="store_true", help="the proxy with supervision off (benchmark)")
    args = parser.parse_args()
    print(run(args.clients, args.requests_per_client, args.tokens, args.lang, args.chunk_delay,
              not args.unsupervised))


if __name__ == "__main__":
    main()
