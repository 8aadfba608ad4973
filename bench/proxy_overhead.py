"""Proxy overhead: the same fake upstream called directly, through this proxy with supervision off
(Settings.benchmark_unsupervised), with supervision on, and through LiteLLM's own proxy, side by side.

    .venv/bin/python bench/proxy_overhead.py [--requests 50] [--tokens 300] [--lang en]

Requests are sequential and interleaved across the targets (one to each in turn), so a change in the
machine's load during the run affects every target alike. Every answer is new text (see fake_upstream.py).
LiteLLM's proxy needs its optional dependencies. A separate environment keeps them from moving this one's
litellm (the newest `litellm[proxy]` that resolves can be older than the litellm installed here):

    python3 -m venv /tmp/llp && /tmp/llp/bin/pip install 'litellm[proxy]'
    LITELLM_PROXY_BIN=/tmp/llp/bin/litellm .venv/bin/python bench/run_all.py

(`pip install -e '.[bench]'` into this environment works too.) Without either, its row says so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import httpx
from harness import (
    COUNTRY,
    Load,
    lesson_pool,
    litellm_binary,
    load_average,
    one_request,
    p,
    sentences_of,
    start_fake_upstream,
    start_litellm_proxy,
    start_proxy,
    table,
    token_counter,
    workdir,
)


async def interleaved(targets: dict, requests: int, warmup: int) -> dict[str, Load]:
    loads = {name: Load() for name in targets}
    async with httpx.AsyncClient(timeout=300) as client:
        for i in range(warmup + requests):
            for name, (url, key) in targets.items():
                load = loads[name] if i >= warmup else Load()
                await one_request(client, url, key, [{"role": "user", "content": f"Explain levers ({i})."}],
                                  False, load)
    return loads


def run(requests: int = 50, tokens: int = 300, lang: str = "en", warmup: int = 5) -> str:
    folder = workdir()
    servers = []
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [s.stop() for s in servers])
        upstream = start_fake_upstream(folder, sentences_of(lesson_pool(lang), tokens, token_counter()))
        servers.append(upstream)
        school = f"demo-{COUNTRY[lang]}"
        targets = {"direct to the fake upstream": (upstream.url, None)}
        unsupervised = start_proxy(folder, upstream, supervised=False, school=school)
        servers.append(unsupervised)
        targets["this proxy, supervision off"] = (unsupervised.url, unsupervised.key)
        supervised = start_proxy(folder, upstream, supervised=True, school=school)
        servers.append(supervised)
        targets["this proxy, supervision on"] = (supervised.url, supervised.key)
        binary, litellm_note = litellm_binary(), None
        if binary:
            try:
                litellm = start_litellm_proxy(folder, upstream, binary)
                servers.append(litellm)
                targets["LiteLLM proxy"] = (litellm.url, litellm.key)
            except RuntimeError as exc:
                litellm_note = f"LiteLLM proxy: failed to start ({exc})"
        else:
            litellm_note = ("LiteLLM proxy: not installed here (pip install -e '.[bench]' or set LITELLM_PROXY_BIN); "
                            "row omitted")
        loads = asyncio.run(interleaved(targets, requests, warmup))
        direct = p(loads["direct to the fake upstream"].latencies_ms, 50)
        rows = []
        by_url = {s.url: s for s in servers}
        for name, load in loads.items():
            server = by_url.get(targets[name][0])
            rows.append([name, load.ok, len(load.errors), p(load.latencies_ms, 50), p(load.latencies_ms, 99),
                         p(load.latencies_ms, 50) - direct, server.peak_rss_mb() if server else "-"])
    out = [f"proxy overhead: {requests} sequential non-streamed requests per target, {tokens}-token {lang} answers, "
           f"load average {load_average()}",
           table(["target", "ok", "errors", "p50 ms", "p99 ms", "overhead p50 ms", "peak RSS MB"], rows)]
    if litellm_note:
        out.append(litellm_note)
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--lang", default="en", choices=sorted(COUNTRY))
    args = parser.parse_args()
    print(run(args.requests, args.tokens, args.lang, args.warmup))


if __name__ == "__main__":
    main()
