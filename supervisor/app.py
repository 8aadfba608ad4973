"""`create_app(settings)`: the proxy, the check-only API and the demo upstream, wired in the lifespan.

Nothing happens at import time. The lifespan opens the store, loads policies, builds the embedder and the
rulebook (compiling every curriculum's examples), starts the curriculum watcher for hot reload, and puts
the services on `app.state`.
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
from .rules.rulebook import RulebookHolder
from .security import SecurityHeaders
from .services import make_embedder, make_rulebook, make_supervisor, open_signed_store, rulebook_options
from .settings import Settings
from .store.bundle import keys_document
from .upstream import stop_litellm_background
from .workers import DaemonThreadPool

KEYS_PATH = "/.well-known/supervisor-keys.json"


def keep_rule_texts(store, rulebook) -> None:
    for label, rules in rulebook_texts(rulebook).items():
        store.keep_rule_texts(label, rules)

DEMO_PREFIX = "/demo-upstream"


async def healthz(request: Request) -> JSONResponse:
    state = request.app.state
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


def create_app(settings: Settings) -> Starlette:
    metrics = Metrics()  # before the lifespan: the middleware counts from the first request

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = app.state
        state.settings = settings
        state.metrics = metrics
        # blocking work (checks, store writes) in threads that never hold a stopping server up (workers.py)
        asyncio.get_running_loop().set_default_executor(DaemonThreadPool(join_timeout=settings.shutdown_grace))
        state.run_sync = asyncio.to_thread
        state.store, state.signer = await asyncio.to_thread(open_signed_store, settings)
        state.policies = load_policies(settings.policies_dir)
        embedder = await asyncio.to_thread(make_embedder, settings)
        options = await asyncio.to_thread(rulebook_options, settings, embedder)  # reads the bank once
        rulebook = await asyncio.to_thread(make_rulebook, settings, embedder, None, options)
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
                            alerts=state.alerts, metrics=metrics)
        watcher = asyncio.create_task(state.rulebooks.watch(settings.reload_interval)) \
            if settings.reload_interval > 0 else None
        sealer = asyncio.create_task(seal_periodically(state.store, settings.audit_checkpoint_interval))
        try:
            yield
        finally:
            if watcher:
                watcher.cancel()
            sealer.cancel()
            # exchanges the server cancelled are recording themselves as interrupted: let them, within bounds
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
    middleware = [Middleware(SecurityHeaders), Middleware(RequestMetrics, metrics=metrics)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware,
                     exception_handlers={404: api_errors.not_found, 405: api_errors.method_not_allowed,
                                         SupervisorError: api_errors.supervisor_error,
                                         500: api_errors.server_error})
