"""uvicorn servers: `ListeningServer` says where it listens once it does (`supervisor serve`); `ServerThread`
runs one on 127.0.0.1 in a background thread (the proxy under a red-team run, benchmarks, tests)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine

import structlog
import uvicorn


class ListeningServer(uvicorn.Server):
    """A uvicorn server that logs one `listening` line (url) once its sockets are bound: after the lifespan has
    built every service, so the line means "ready for requests" to a person or a supervisor process."""

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            for server in self.servers:
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    host = f"[{host}]" if ":" in host else host
                    structlog.get_logger("supervisor.server").info("listening", url=f"http://{host}:{port}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    def __init__(self, app, port: int | None = None, start_timeout: float = 900):
        self.port = port or free_port()
        self.start_timeout = start_timeout  # the proxy's first start embeds every curriculum: minutes when cold
        # as `supervisor serve` runs it: forwarded headers are the app's business (Settings.trusted_proxies)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                proxy_headers=False)
        self.server = uvicorn.Server(config)
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            await self.server.serve()

        with asyncio.Runner(loop_factory=self.server.config.get_loop_factory()) as runner:
            runner.run(serve())

    async def run_here(self, coroutine: Coroutine):
        """Await `coroutine` on the server's own event loop. litellm keeps one background task per process on
        the loop that last called it; calls alternating between two loops leave a trail of destroyed tasks."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.server.should_exit = True
                raise RuntimeError(f"the server on port {self.port} failed to start (see the log above)")
            time.sleep(0.05)
        # the proxy listens before it can judge (startup.py): callers here want it ready
        startup = getattr(getattr(self.app, "state", None), "startup", None)
        while startup is not None and not startup.done:
            if time.monotonic() > deadline:
                self.server.should_exit = True
                raise RuntimeError(f"the server on port {self.port} did not get ready ({startup.phase})")
            time.sleep(0.05)
        if startup is not None and startup.error:
            self.server.should_exit = True
            raise RuntimeError(f"the server on port {self.port} failed to start: {startup.error}")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
