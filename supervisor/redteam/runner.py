"""Send the cases through the real proxy, over HTTP, once per upstream model, and collect what happened.

For each upstream a proxy is started in-process (uvicorn on 127.0.0.1, its own SQLite file, one school per
country of the cases) in front of it. Each attack case is sent twice:
- straight to the upstream through litellm, as a school without this proxy would: the raw answer;
- through the proxy with a school key: the decision and the text the student received.
With a scripted upstream both arms get the same answer; a real model samples twice (set a temperature of 0
in the model's settings if it supports one). Benign cases go through the proxy only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from ..errors import BadRequest, SupervisorError
from ..local_server import ServerThread, free_port
from ..settings import Settings, UpstreamConfig
from ..upstream import Upstream
from .cases import Case
from .harm import harmful

SCRIPTED_NAMES = ("scripted", "fake")


@dataclass(frozen=True)
class RunOptions:
    upstreams: tuple[str, ...] = ("scripted",)
    grade: int = 8                  # the grade sent for cases that name none (lower secondary)
    stream: bool = False
    concurrency: int = 2
    policy: str = "default"
    workdir: Path = Path("redteam-run")
    progress: bool = True


def resolve_upstream(name: str, settings: Settings, scripted_url: str | None) -> UpstreamConfig:
    """`scripted`/`fake`, `demo`, a name under `upstreams:` in the config file, or any litellm model string."""
    if name in SCRIPTED_NAMES:
        return UpstreamConfig(model="openai/scripted", api_base=f"{scripted_url}/v1", api_key="redteam",
                              timeout=30, retries=0)
    if name in settings.upstreams:
        return settings.upstreams[name]
    if name == settings.upstream.model:
        return settings.upstream  # its api_base and key from the settings
    return UpstreamConfig(model=name)


def copy_policies_without_alerts(source: Settings, folder: Path) -> None:
    """The deployment's action policies, into `folder`: the same decisions, but no safeguarding alerts (a run's
    questions are not students, and nobody is on call for them)."""
    folder.mkdir(parents=True, exist_ok=True)
    policies = source.policies_dir / "policies.yaml"
    if policies.is_file():
        data = yaml.safe_load(policies.read_text(encoding="utf-8"))
        for entry in (data.get("policies") or {}).values():
            entry["alert_categories"] = []
        (folder / "policies.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                              encoding="utf-8")


def write_policies(source: Settings, folder: Path, countries: list[str], policy: str) -> None:
    """A policies folder for the run: the deployment's action policies, and one school per case country (so a
    country without a demo school is still judged, by its curriculum or the universal baseline)."""
    copy_policies_without_alerts(source, folder)
    schools = [{"id": f"redteam-{cc}", "name": f"Red-team school ({cc})", "country": cc, "grades": [1, 12],
                "mode": "tutor", "policy": policy, "upstream": "default"} for cc in countries]
    (folder / "schools.yaml").write_text(yaml.safe_dump({"schema_version": 1, "schools": schools}), encoding="utf-8")


def _slug(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9._-]+", "_", name)[:60]


def _sse(text: str) -> tuple[str, dict]:
    """Delivered text and the `supervisor` object of the last chunk, from an SSE body."""
    parts, block = [], {}
    for line in text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        for choice in chunk.get("choices") or []:
            parts.append((choice.get("delta") or {}).get("content") or "")
        block = chunk.get("supervisor") or block
    return "".join(parts), block


async def _through_proxy(client: httpx.AsyncClient, url: str, key: str, case: Case, grade: int,
                         stream: bool) -> dict:
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {key}", "X-Supervisor-Grade": str(case.grade or grade)}
    body = {"model": "redteam", "messages": case.messages, "stream": stream}
    try:
        reply = await client.post(f"{url}/v1/chat/completions", headers=headers, json=body)
    except httpx.HTTPError as exc:
        return {"status": None, "error": f"{type(exc).__name__}: {exc}", "latency_ms": None}
    latency = (time.perf_counter() - started) * 1000
    out = {"status": reply.status_code, "latency_ms": round(latency, 1),
           "request_id": reply.headers.get("x-request-id"),
           "supervision_ms": float(reply.headers["x-supervisor-duration-ms"])
           if "x-supervisor-duration-ms" in reply.headers else None}
    if reply.status_code != 200:
        try:
            out["error"] = reply.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            out["error"] = reply.text[:300]
        return out
    if stream:
        text, block = _sse(reply.text)
        decision = block.get("decision") or reply.headers.get("x-supervisor-decision")
        rules = block.get("rules") or [r for r in reply.headers.get("x-supervisor-rules", "").split(",") if r]
    else:
        data = reply.json()
        text = data["choices"][0]["message"]["content"]
        decision = reply.headers.get("x-supervisor-decision")
        rules = [r for r in reply.headers.get("x-supervisor-rules", "").split(",") if r]
    out.update(decision=decision, rules=rules, delivered_text=text, error=None)
    return out


async def _raw(upstream: Upstream, case: Case) -> dict:
    try:
        completion = await upstream.complete({}, case.messages)
    except SupervisorError as exc:
        return {"raw_text": None, "raw_error": str(exc)}
    return {"raw_text": completion.text, "raw_error": None}


def _from_record(store, request_id: str | None) -> dict:
    """What the proxy recorded: whether it did, and the harm categories of the rules that fired."""
    record = store.exchange(request_id) if request_id else None
    if record is None:
        return {"recorded": False, "rule_categories": []}
    return {"recorded": True, "rule_categories": sorted({f.get("category") for f in record["findings"]} - {None})}


async def _run_model(name: str, config: UpstreamConfig, url: str, keys: dict[str, str], cases: list[Case],
                     options: RunOptions, demo_api_base: str | None, bar, store, on_proxy_loop) -> list[dict]:
    upstream = Upstream(config, api_base=demo_api_base if config.is_demo else None)
    limit = asyncio.Semaphore(max(1, options.concurrency))
    timeout = httpx.Timeout(config.timeout * 4 + 120)  # the upstream, its regenerations, supervision

    async def one(client: httpx.AsyncClient, case: Case) -> dict:
        async with limit:
            row = {"model": name, "id": case.id, "kind": case.kind, "country": case.country, "lang": case.lang,
                   "technique": case.technique, "category": case.category, "grade": case.grade or options.grade,
                   "target": case.target}
            if case.kind == "attack":
                row.update(await on_proxy_loop(_raw(upstream, case)))  # litellm stays on one loop
                row["raw_harmful"] = harmful(row["raw_text"], case.harm_markers)
            row.update(await _through_proxy(client, url, keys[case.country], case, options.grade, options.stream))
            row.update(await asyncio.to_thread(_from_record, store, row.get("request_id")))
            if case.kind == "attack":
                row["delivered_harmful"] = harmful(row.get("delivered_text"), case.harm_markers)
                # caught, and by a rule about the harm the attacker wanted (not by luck on another rule)
                row["caught_for_its_category"] = row.get("decision") not in (None, "pass") and \
                    case.category in row["rule_categories"]
            bar.update(1)
            return row

    async with httpx.AsyncClient(timeout=timeout) as client:
        return list(await asyncio.gather(*(one(client, c) for c in cases)))


def run(settings: Settings, cases: list[Case], options: RunOptions) -> list[dict]:
    """Every case through the proxy in front of every upstream; one row per (upstream, case)."""
    from tqdm import tqdm

    from ..app import DEMO_PREFIX, create_app
    from ..store import open_store
    from .scripted import create_scripted_upstream

    if not cases:
        raise BadRequest("no cases to run (check --country and the case files)")
    countries = sorted({c.country for c in cases})
    workdir = options.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    write_policies(settings, workdir / "policies", countries, options.policy)
    rows: list[dict] = []
    with ExitStack() as stack:
        loop = stack.enter_context(asyncio.Runner())  # one loop for the run: litellm keeps tasks on it
        scripted_url = None
        if any(name in SCRIPTED_NAMES for name in options.upstreams):
            scripted_url = stack.enter_context(ServerThread(create_scripted_upstream(cases))).url
        bar = stack.enter_context(tqdm(total=len(cases) * len(options.upstreams), desc="redteam", unit="case",
                                       file=sys.stderr, disable=not options.progress))
        for name in options.upstreams:
            config = resolve_upstream(name, settings, scripted_url)
            bar.set_postfix_str(name)
            db = workdir / f"{_slug(name)}.db"
            db.unlink(missing_ok=True)
            port = free_port()
            proxy_settings = dataclasses.replace(
                settings, host="127.0.0.1", port=port, database_url=f"sqlite:///{db}", upstream=config,
                upstreams={}, policies_dir=workdir / "policies", reload_interval=0)
            store = open_store(proxy_settings.database_url)
            try:
                keys = {cc: store.issue_key(f"redteam-{cc}", label="redteam") for cc in countries}
                with ServerThread(create_app(proxy_settings), port=port) as proxy:
                    demo_base = f"{proxy.url}{DEMO_PREFIX}/v1"
                    rows.extend(loop.run(_run_model(name, config, proxy.url, keys, cases, options, demo_base, bar,
                                                    store, proxy.run_here)))
            finally:
                store.close()
    return rows
