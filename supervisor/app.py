"""`create_app(settings)`: the proxy, the check-only API and the demo upstream, wired in the lifespan.

Nothing happens at import time. The lifespan opens the store, loads policies, builds the embedder and the
rulebook (compiling every curriculum's examples), starts the curriculum watcher for hot reload, and puts
the services on `app.state`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from .api import errors as api_errors
from .api.openai import chat_completions, models
from .api.supervise import supervise
from .demo.fake_openai import create_fake_openai
from .demo.lessons import demo_answer
from .policy import load_policies
from .proxy import Proxy
from .rules.rulebook import RulebookHolder
from .services import make_embedder, make_rulebook, make_supervisor
from .settings import Settings
from .store import open_store

DEMO_PREFIX = "/demo-upstream"


async def healthz(request: Request) -> JSONResponse:
    state = request.app.state
    holder: RulebookHolder = state.rulebooks
    return JSONResponse({
        "status": "ok",
        "curricula": holder.current.versions,
        "curriculum_error": holder.last_error,
        "upstream": state.settings.upstream.model,
        "embedder": state.supervisor.embedder.name,
        **({"supervision": "OFF: benchmark_unsupervised (never for students)"}
           if state.settings.benchmark_unsupervised else {}),
    })


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = app.state
        state.settings = settings
        state.run_sync = asyncio.to_thread
        state.store = open_store(settings.database_url)
        state.policies = load_policies(settings.policies_dir)
        embedder = await asyncio.to_thread(make_embedder, settings)
        rulebook = await asyncio.to_thread(make_rulebook, settings, embedder)
        state.rulebooks = RulebookHolder(settings.curricula_dir, embedder.embed, rulebook,
                                         threshold=settings.semantic_threshold, margin=settings.semantic_margin)
        state.supervisor = make_supervisor(settings, embedder)
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        secret = settings.secret or state.store.deployment_secret()
        state.proxy = Proxy(settings, state.policies, state.rulebooks, state.supervisor, state.store, secret,
                            demo_api_base=f"http://{host}:{settings.port}{DEMO_PREFIX}/v1")
        watcher = asyncio.create_task(state.rulebooks.watch(settings.reload_interval)) \
            if settings.reload_interval > 0 else None
        try:
            yield
        finally:
            if watcher:
                watcher.cancel()
            state.store.close()

    routes = [
        Route("/healthz", healthz),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models),
        Route("/v1/supervise", supervise, methods=["POST"]),
        Mount(DEMO_PREFIX, app=create_fake_openai(demo_answer, model="demo", chunk_delay=0.01)),
    ]
    return Starlette(routes=routes, lifespan=lifespan,
                     exception_handlers={404: api_errors.not_found, 405: api_errors.method_not_allowed,
                                         500: api_errors.server_error})
