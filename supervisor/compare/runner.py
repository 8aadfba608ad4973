"""Ask every upstream every probe through the real proxy, over HTTP, as a student's school app would.

One proxy is started in-process (uvicorn on 127.0.0.1, its own SQLite file under the output folder) with one
school per (country, upstream): the same supervision path, policies and curricula as `supervisor serve`, so
each decision is what a student of that grade would have seen. The proxy's own record of each exchange gives
the model's original answer and the sentence each rule acted on. An upstream that fails (unreachable, a bad
key) fails its probes one by one, each recorded with the error; the run goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from ..local_server import ServerThread, free_port
from ..redteam.runner import copy_policies_without_alerts
from ..settings import Settings, UpstreamConfig
from .plan import Ask


@dataclass(frozen=True)
class RunOptions:
    concurrency: int = 2
    policy: str = "default"
    workdir: Path = Path("compare-report/proxy")
    progress: bool = True


def _school(country: str, index: int) -> str:
    return f"compare-{country}-{index}"


def write_policies(source: Settings, folder: Path, countries: list[str], upstreams: int, policy: str) -> None:
    copy_policies_without_alerts(source, folder)
    schools = [{"id": _school(cc, i), "name": f"Compare school ({cc}, upstream {i})", "country": cc,
                "grades": [1, 12], "mode": "tutor", "policy": policy, "upstream": f"compare-{i}"}
               for cc in countries for i in range(upstreams)]
    (folder / "schools.yaml").write_text(yaml.safe_dump({"schema_version": 1, "schools": schools}), encoding="utf-8")


def _row(name: str, ask: Ask) -> dict:
    probe = ask.probe
    return {"model": name, "country": ask.country, "probe": probe.id, "topic": probe.topic,
            "category": probe.category, "lang": ask.lang, "grade": ask.grade, "question": ask.question}


async def _ask(client: httpx.AsyncClient, url: str, key: str, ask: Ask) -> dict:
    headers = {"Authorization": f"Bearer {key}", "X-Supervisor-Grade": str(ask.grade)}
    body = {"model": "compare", "messages": [{"role": "user", "content": ask.question}],
            "metadata": {"lang": ask.lang}}
    started = time.perf_counter()
    try:
        reply = await client.post(f"{url}/v1/chat/completions", headers=headers, json=body)
    except httpx.HTTPError as exc:
        return {"status": None, "error": f"{type(exc).__name__}: {exc}", "decision": None}
    out = {"status": reply.status_code, "request_id": reply.headers.get("x-request-id"),
           "latency_ms": round((time.perf_counter() - started) * 1000, 1),
           "supervision_ms": float(reply.headers["x-supervisor-duration-ms"])
           if "x-supervisor-duration-ms" in reply.headers else None,
           "curriculum": reply.headers.get("x-supervisor-curriculum")}
    if reply.status_code != 200:
        try:
            out["error"] = reply.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            out["error"] = reply.text[:300]
        out["decision"] = None
        return out
    out.update(decision=reply.headers.get("x-supervisor-decision"),
               rules=[r for r in reply.headers.get("x-supervisor-rules", "").split(",") if r],
               delivered=reply.json()["choices"][0]["message"]["content"], error=None)
    return out


def _from_record(store, request_id: str | None) -> dict:
    """The model's own answer and each acting rule's sentence, from the proxy's record of the exchange."""
    record = store.exchange(request_id) if request_id else None
    if record is None:
        return {"answer": None, "findings": []}
    findings = [{"rule": f.get("rule"), "category": f.get("category"), "action": f.get("action"),
                 "target": f.get("target"), "sentence": f.get("sentence")} for f in record["findings"]]
    return {"answer": record.get("original_text"), "findings": findings}


async def _run_all(url: str, keys: dict[tuple[str, int], str], upstreams: list[str], asks: list[Ask],
                   options: RunOptions, store, bar, timeout: float) -> list[dict]:
    limit = asyncio.Semaphore(max(1, options.concurrency))

    async def one(client: httpx.AsyncClient, index: int, ask: Ask) -> dict:
        async with limit:
            row = _row(upstreams[index], ask)
            row.update(await _ask(client, url, keys[(ask.country, index)], ask))
            row.update(await asyncio.to_thread(_from_record, store, row.get("request_id")))
            bar.update(1)
            return row

    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout)) as client:
        # one unscored question per upstream first: the first exchange pays for setting things up (litellm's
        # first call, connections), which is no model's latency
        await asyncio.gather(*(_ask(client, url, keys[(asks[0].country, i)], asks[0]) for i in range(len(upstreams))))
        # every upstream gets each probe in turn, so a slow moment of the machine falls on all of them alike
        return list(await asyncio.gather(*(one(client, i, ask) for ask in asks for i in range(len(upstreams)))))


def run(settings: Settings, asks: list[Ask], upstreams: dict[str, UpstreamConfig], options: RunOptions) -> list[dict]:
    """Every ask through the proxy in front of every upstream; one row per (upstream, ask)."""
    from tqdm import tqdm

    from ..app import create_app
    from ..store import open_store

    countries = sorted({a.country for a in asks})
    names = list(upstreams)
    workdir = options.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    write_policies(settings, workdir / "policies", countries, len(names), options.policy)
    db = workdir / "compare.db"
    db.unlink(missing_ok=True)
    port = free_port()
    proxy_settings = dataclasses.replace(
        settings, host="127.0.0.1", port=port, database_url=f"sqlite:///{db}",
        upstreams={f"compare-{i}": upstreams[name] for i, name in enumerate(names)},
        policies_dir=workdir / "policies", reload_interval=0)
    timeout = max(c.timeout for c in upstreams.values()) * 4 + 120  # the upstream, its regenerations, supervision
    store = open_store(proxy_settings.database_url)
    try:
        keys = {(cc, i): store.issue_key(_school(cc, i), label="compare") for cc in countries
                for i in range(len(names))}
        with ExitStack() as stack:
            loop = stack.enter_context(asyncio.Runner())
            # a bar on a terminal only (count, rate, time left): a log file or a pipe gets nothing
            bar = stack.enter_context(tqdm(total=len(asks) * len(names), desc="compare", unit="probe",
                                           file=sys.stderr, disable=None if options.progress else True))
            proxy = stack.enter_context(ServerThread(create_app(proxy_settings), port=port))
            return loop.run(_run_all(proxy.url, keys, names, asks, options, store, bar, timeout))
    finally:
        store.close()
