"""A small OpenAI-compatible chat server: the built-in demo upstream, and the test suite's fake upstream.

`create_fake_openai(responder)` returns a Starlette app serving `POST /v1/chat/completions` (streaming and
not) and `GET /v1/models`. The responder maps the request's messages to the answer text. Every request body
is kept in `app.state.received`, so tests can prove what did (and did not) reach the upstream.

Streams are observable too: `app.state.streams` gets one `StreamLog` per streamed answer (content chunks
sent so far, whether it finished or its reader went away first), and `app.state.gate`, when set to a
`Gate`, pauses every stream after a number of content chunks until the test opens it. Together they prove
ordering without clocks: e.g. the client received text while the upstream was provably still mid-answer.

Faults are scripted the same way: `app.state.fail` answers every request with a 503; `app.state.stream_body`,
a `(content_type, body)` pair, answers a streamed request with HTTP 200 and that body as it is (an upstream that
ignores `stream: true`, or a gateway's HTML error page); `app.state.cut_after = n` ends a stream after `n` content
chunks with no finish_reason and no `[DONE]`, as a connection reset mid-answer would.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Responder = Callable[[list[dict]], str]


@dataclass
class StreamLog:
    total: int                 # content chunks the answer has
    sent: int = 0              # content chunks sent so far
    finished: bool = False     # sent everything, up to [DONE]
    closed_early: bool = False  # the reader went away (or the stream was cancelled) before the end
    sent_at: list[float] = field(default_factory=list)  # time.perf_counter() as each content chunk left


@dataclass
class Gate:
    """Pause streams after `after` content chunks until `open()`; gives up after `timeout` seconds."""
    after: int
    timeout: float = 30.0
    opened: threading.Event = field(default_factory=threading.Event)
    timed_out: bool = False

    def open(self) -> None:
        self.opened.set()

    async def wait(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not self.opened.is_set():
            if time.monotonic() > deadline:
                self.timed_out = True
                return
            await asyncio.sleep(0.005)


def split_tokens(text: str, size: int = 4) -> list[str]:
    """Chunk text the way a model streams it: a few characters at a time (tokens are ~4 chars)."""
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def create_fake_openai(responder: Responder, *, model: str = "fake-model", chunk_chars: int = 4,
                       chunk_delay: float = 0.0, first_token_delay: float = 0.0) -> Starlette:
    async def completions(request: Request):
        body = await request.json()
        request.app.state.received.append(body)
        fail = request.app.state.fail
        if fail:
            return JSONResponse({"error": {"message": fail, "type": "server_error"}}, status_code=503)
        text = responder(body.get("messages", []))
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        created = int(time.time())
        if body.get("stream") and request.app.state.stream_body is not None:
            content_type, raw = request.app.state.stream_body
            return Response(raw, status_code=200, media_type=content_type)
        if not body.get("stream"):
            if first_token_delay:  # a slow model: nothing at all until it has thought
                await asyncio.sleep(first_token_delay)
            return JSONResponse({
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": max(1, len(text) // 4),
                          "total_tokens": 10 + max(1, len(text) // 4)},
            })

        async def events():
            def chunk(delta: dict, finish: str | None = None) -> str:
                payload = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

            pieces = split_tokens(text, request.app.state.chunk_chars)
            log = StreamLog(total=len(pieces))
            request.app.state.streams.append(log)
            gate = request.app.state.gate
            try:
                yield chunk({"role": "assistant", "content": ""})
                if first_token_delay:
                    await asyncio.sleep(first_token_delay)
                cut_after = request.app.state.cut_after
                for piece in pieces:
                    if cut_after is not None and log.sent >= cut_after:
                        return  # the connection drops: no finish_reason, no [DONE]
                    yield chunk({"content": piece})
                    log.sent += 1
                    log.sent_at.append(time.perf_counter())
                    if gate is not None and log.sent == gate.after:
                        await gate.wait()
                    if chunk_delay:
                        await asyncio.sleep(chunk_delay)
                yield chunk({}, "stop")
                yield "data: [DONE]\n\n"
                log.finished = True
            finally:
                log.closed_early = not log.finished

        return StreamingResponse(events(), media_type="text/event-stream")

    async def models(request: Request):
        return JSONResponse({"object": "list", "data": [{"id": model, "object": "model", "owned_by": "fake"}]})

    app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"]),
                            Route("/v1/models", models)])
    app.state.received = []
    app.state.fail = None
    app.state.streams = []
    app.state.chunk_chars = chunk_chars  # may be changed between requests (the streaming benchmark does)
    app.state.gate = None
    app.state.stream_body = None
    app.state.cut_after = None
    return app
