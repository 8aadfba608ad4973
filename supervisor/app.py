"""`create_app(settings)`: the proxy, the check-only API and the demo upstream, wired in the lifespan.

Nothing happens at import time. The lifespan opens the store, loads policies and validates the curricula (a
mistake stops the start), then listens while a task builds the embedder and the rulebook (compiling every
curriculum's examples) and the proxy, starts the curriculum watcher for hot reload, and puts the services on
`app.state`; until then `/healthz` says "starting" (startup.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from .alerts import Alerter
from .api import errors as api_errors
from .api.guardrail import PATH as GUARDRAIL_PATH
from .api.guardrail import litellm_guardrail
from .api.openai import chat_completions, models
from .api.supervise import supervise
from .demo.fake_openai import create_fake_openai
from .demo.lessons import demo_answer
from .errors import SupervisorError
from .metrics import Metrics, RequestMetrics, metrics_page
from .policy import load_policies
from .proxy import Proxy
from .review.items import rulebook_texts
from .review.routes import review_mount
from .review.web import ReviewState
from .rules.loader import load_curricula
from .rules.rulebook import RulebookHolder, fingerprint
from .security import SecurityHeaders
from .services import make_embedder, make_rulebook, make_supervisor, open_signed_store, rulebook_options
from .settings import Settings
from .startup import StartingGate, Startup, resume_collector
from .store.bundle import keys_document
from .upstream import load_litellm, stop_litellm_background
from .workers import DaemonThreadPool

KEYS_PATH = "/.well-known/supervisor-keys.json"


def keep_rule_texts(store, rulebook) -> None:
    for label, rules in rulebook_texts(rulebook).items():
        store.keep_rule_texts(label, rules)

DEMO_PREFIX = "/demo-upstream"


async def healthz(request: Request) -> JSONResponse:
    state = request.app.state
    startup: Startup = state.startup
    if not startup.ready:  # 503, so that a load balancer or Docker's health check waits
        return JSONResponse({"status": "failed" if startup.error else "starting", "phase": startup.phase,
                             "seconds": startup.seconds(), "error": startup.error}, status_code=503)
    holder: RulebookHolder = state.rulebooks
    return JSONResponse({
        # degraded: serving, but a curriculum change was rejected (the last good version is still in force)
        "status": "degraded" if holder.last_error else "ok",
        "curricula": holder.current.versions,
        "curriculum_error": holder.last_error,
        "upstream": state.settings.upstream.model,
        "embedder": state.supervisor.embedder.name,
        **({"supervision": "OFF: benchmark_unsupervised (never for students)"}
           if state.settings.benchmark_unsupervised else {}),
    })


async def public_keys(request: Request) -> JSONResponse:
    """The deployment's public keys: what response signatures and audit checkpoints are checked against."""
    store = request.app.state.store
    return JSONResponse(keys_document(await asyncio.to_thread(store.public_keys)),
                        headers={"Cache-Control": "public, max-age=300"})


async def seal_periodically(store, interval: float) -> None:
    """Checkpoints every `interval` seconds when records came in, not only every N records: a quiet school's
    last records are signed within the interval too."""
    log = structlog.get_logger("supervisor.audit")
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(store.checkpoint)
        except Exception as exc:  # noqa: BLE001 - a failed checkpoint is retried next interval, never fatal
            log.warning("checkpoint_failed", error=str(exc))


async def build_services(app: Starlette, settings: Settings, preloaded: tuple) -> None:
    """The slow part of a start (engine, embeddings, heads, proxy), run while the server already answers
    `/healthz`. Progress and the final `ready` line go to the log."""
    state, startup = app.state, app.state.startup
    log = structlog.get_logger("supervisor.startup")
    # litellm takes about 3 s to import, and it was imported by the first upstream call: on a restart that was
    # half the time until the first answer. It loads side by side with the engine and the curricula instead.
    upstream_library = asyncio.create_task(asyncio.to_thread(load_litellm))
    try:
        startup.phase = "loading the embedding engine"
        embedder = await asyncio.to_thread(make_embedder, settings)
        startup.phase = "compiling the curricula (embedding their sentences)"
        options = await asyncio.to_thread(rulebook_options, settings, embedder)  # reads the bank once
        rulebook = await asyncio.to_thread(make_rulebook, settings, embedder, None, options, preloaded)
        state.rulebooks = RulebookHolder(settings.curricula_dir, embedder.embed, rulebook, **options)
        # each curriculum version's rule texts are kept, so a review page shows the rule that judged an exchange
        state.rulebooks.on_reload.append(partial(keep_rule_texts, state.store))
        await asyncio.to_thread(keep_rule_texts, state.store, rulebook)
        state.supervisor = make_supervisor(settings, embedder)
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        secret = settings.secret or state.store.deployment_secret()
        state.review = ReviewState(secret)
        state.alerts = Alerter(settings)
        state.proxy = Proxy(settings, state.policies, state.rulebooks, state.supervisor, state.store, secret,
                            demo_api_base=f"http://{host}:{settings.port}{DEMO_PREFIX}/v1", signer=state.signer,
                            alerts=state.alerts, metrics=state.metrics)
        if settings.reload_interval > 0:
            state.background.append(asyncio.create_task(state.rulebooks.watch(settings.reload_interval)))
        startup.phase = "loading the upstream library (litellm)"
        await upstream_library
    except Exception as exc:  # noqa: BLE001 - reported by /healthz and the log; the process stays to say so
        startup.error = f"{type(exc).__name__}: {exc}"
        startup.done = True
        log.exception("start_failed", phase=startup.phase, seconds=startup.seconds())
        return
    finally:
        resume_collector()
    startup.phase, startup.done = "ready", True
    log.info("ready", listening=f"http://{settings.host}:{settings.port}", seconds=startup.seconds(),
             embedder=embedder.name, curricula=len(rulebook.compiled))


def create_app(settings: Settings) -> Starlette:
    metrics = Metrics()  # before the lifespan: the middleware counts from the first request

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = app.state
        state.settings = settings
        state.metrics = metrics
        state.startup = Startup()
        state.background = []
        # blocking work (checks, store writes) in threads that never hold a stopping server up (workers.py)
        asyncio.get_running_loop().set_default_executor(DaemonThreadPool(join_timeout=settings.shutdown_grace))
        state.run_sync = asyncio.to_thread
        # what a user's mistake breaks is checked before listening: such a start stops with the problem
        state.store, state.signer = await asyncio.to_thread(open_signed_store, settings)
        state.policies = load_policies(settings.policies_dir)
        state.startup.phase = "reading the curricula"
        stamp = await asyncio.to_thread(fingerprint, settings.curricula_dir)   # taken before reading: an edit
        curricula = await asyncio.to_thread(load_curricula, settings.curricula_dir)   # meanwhile reloads later
        structlog.get_logger("supervisor.startup").info(
            "starting", listening=f"http://{settings.host}:{settings.port}", embedder=settings.embedder_backend,
            note="/healthz says starting until the curricula are compiled; progress follows")
        builder = asyncio.create_task(build_services(app, settings, (stamp, curricula)))
        state.background.append(asyncio.create_task(
            seal_periodically(state.store, settings.audit_checkpoint_interval)))
        try:
            yield
        finally:
            builder.cancel()
            for task in state.background:
                task.cancel()
            # exchanges the server cancelled are recording themselves as interrupted: let them, within bounds
            if hasattr(state, "proxy"):
                await state.proxy.drain(settings.shutdown_grace)
                await state.alerts.aclose()
            await stop_litellm_background()
            try:
                await asyncio.to_thread(state.store.checkpoint)     # sign the tail before going away
            except Exception as exc:  # noqa: BLE001 - the next start's checkpoint covers it
                structlog.get_logger("supervisor.audit").warning("final_checkpoint_failed", error=str(exc))
            state.store.close()

    routes = [
        Route("/healthz", healthz),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models),
        Route("/v1/supervise", supervise, methods=["POST"]),
        Route(GUARDRAIL_PATH, litellm_guardrail, methods=["POST"]),
        Route(KEYS_PATH, public_keys),
        Route("/metrics", metrics_page),
        review_mount(),
        Mount(DEMO_PREFIX, app=create_fake_openai(demo_answer, model="demo", chunk_delay=0.01)),
    ]
    middleware = [Middleware(SecurityHeaders), Middleware(RequestMetrics, metrics=metrics), Middleware(StartingGate)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware,
                     exception_handlers={404: api_errors.not_found, 405: api_errors.method_not_allowed,
                                         SupervisorError: api_errors.supervisor_error,
                                         500: api_errors.server_error})
