"""A small OpenAI-compatible chat server: the built-in demo upstream, and the test suite's fake upstream.

`create_fake_openai(responder)` returns a Starlette app serving `POST /v1/chat/completions` (streaming and
not) and `GET /v1/models`. The responder maps the request's messages to the answer text. Every request body
is kept in `app.state.received`, so tests can prove what did (and did not) reach the upstream.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

Responder = Callable[[list[dict]], str]


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

            yield chunk({"role": "assistant", "content": ""})
            if first_token_delay:
                await asyncio.sleep(first_token_delay)
            for piece in split_tokens(text, chunk_chars):
                yield chunk({"content": piece})
                if chunk_delay:
                    await asyncio.sleep(chunk_delay)
            yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def models(request: Request):
        return JSONResponse({"object": "list", "data": [{"id": model, "object": "model", "owned_by": "fake"}]})

    app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"]),
                            Route("/v1/models", models)])
    app.state.received = []
    app.state.fail = None
    return app
