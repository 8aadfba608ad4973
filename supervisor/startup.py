"""Start-up in the background: the server listens at once, says "starting" until it can judge, then "ready".

A first start builds the engine and embeds every curriculum sentence (tens of seconds to minutes on a busy
machine). Doing that before listening left a newcomer with a silent server that refused connections; now the
lifespan checks what can fail on a user's mistake first (store, policies, curricula: a broken file still stops
the start with its file:line problems), starts listening, and compiles in a task. Until that task is done,
`/healthz` answers 503 `{"status": "starting"}` and every other path a 503 in the OpenAI error envelope with
`Retry-After`; progress goes to the log (`embedding` lines with count and rate, from `models/embedder.py`), and
a last `ready` line says where the server listens.
"""

from __future__ import annotations

import gc
import json
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

ALWAYS_OPEN = ("/healthz",)
RETRY_AFTER_S = 5


@dataclass
class Startup:
    started: float = field(default_factory=time.monotonic)
    phase: str = "opening the store"
    done: bool = False
    error: str | None = None

    @property
    def ready(self) -> bool:
        return self.done and self.error is None

    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 1)


def pause_collector() -> None:
    """Python's cyclic garbage collector off while the server starts. A start allocates hundreds of thousands of
    objects that live as long as the process (litellm's and openai's pydantic models at import, the curricula),
    and the collector kept walking them: `import litellm` alone took 3.0-3.5 s with it, 2.2-2.5 s without
    (measured three times each), and a restart is bound by that import (it holds the interpreter lock)."""
    gc.disable()


def resume_collector() -> None:
    """After the start: what the start built (about 570,000 tracked objects) is moved out of the collector's sight
    for good (`gc.freeze`) and the collector runs again. Without the freeze the first collection would walk all
    of them on a request's path, and every full collection while serving would too (0.23 s each, holding the
    interpreter lock). A start-up object is still freed when nothing refers to it (reference counting); only one
    caught in a reference cycle would stay, and the start-up builds long-lived objects. Only when
    `pause_collector` stopped the collector, so that an app built inside another program (the tests) leaves
    that program's collector alone."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


class StartingGate:
    """Pure ASGI middleware: 503 for everything but `/healthz` until the app's `state.startup` is ready."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope.get("app") if scope["type"] == "http" else None
        startup: Startup | None = getattr(getattr(app, "state", None), "startup", None)
        if startup is None or startup.ready or scope["path"] in ALWAYS_OPEN:
            await self.app(scope, receive, send)
            return
        failed = startup.error is not None
        message = (f"the supervisor failed to start ({startup.error}); see its log" if failed else
                   f"the supervisor is starting ({startup.phase}, {startup.seconds()} s so far); retry shortly")
        body = json.dumps({"error": {"message": message, "type": "server_error", "param": None,
                                     "code": "start_failed" if failed else "starting"}}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if not failed:
            headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})
