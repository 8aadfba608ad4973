"""A supervised stream on the wire: OpenAI `chat.completion.chunk` server-sent events.

What a client sees (README, "Streaming"):
- headers, sent with the first checked text: `X-Supervisor-Decision: streaming` (the decision is not known
  yet), `X-Supervisor-Rules` empty, `X-Supervisor-Curriculum`, `X-Request-Id`, and an
  `X-Supervisor-AI-Disclosure` with `decision=streaming` (no signature header: nothing is signed yet);
- a chunk with `delta.role = "assistant"`, then one chunk per released sentence (`delta.content`);
- a last chunk with an empty delta, `finish_reason` (`content_filter` for a block, else `stop`) and a
  `supervisor` object: decision, rules, curriculum, request_id, held, and the final `disclosure` and
  `signature` (over the delivered text: `supervisor verify-response` checks a saved stream); then
  `data: [DONE]`;
- if the upstream fails after text was released: an `{"error": {...}}` event (the official SDKs raise it),
  never an assistant message.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ..errors import SupervisorError
from ..provenance import DISCLOSURE_HEADER, SIGNATURE_HEADER
from ..stream import Chunk, Closed, Failed, StreamSession

FINISH_BY_DECISION = {"block": "content_filter"}


def supervisor_block(decision: str, rules: list[str], curriculum: str, request_id: str, **extra) -> dict:
    return {"decision": decision, "rules": rules, "curriculum": curriculum, "request_id": request_id, **extra}


def chunk_writer(request_id: str, model: str):
    """`event(delta, finish, extra)` → one `data:` line of a chat.completion.chunk for this response."""
    cid, created = f"chatcmpl-{request_id}", int(time.time())

    def event(delta: dict, finish: str | None = None, extra: dict | None = None) -> str:
        payload = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **(extra or {})}
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    return event


async def sse_events(session: StreamSession, first: Chunk | Closed | Failed, request_id: str) -> AsyncIterator[str]:
    event = chunk_writer(request_id, session.model)

    yield event({"role": "assistant", "content": ""})
    async for item in session.events(first):
        if isinstance(item, Chunk):
            yield event({"content": item.text})
        elif isinstance(item, Closed):
            result = item.result
            block = supervisor_block(result.decision, result.rules, session.compiled.curriculum.label, request_id,
                                     held=result.held is not None)
            # the disclosure and signature of what was delivered: a stream's headers left before it was known
            block.update({key: result.provenance[header] for key, header in
                          (("disclosure", DISCLOSURE_HEADER), ("signature", SIGNATURE_HEADER))
                          if header in result.provenance})
            yield event({}, FINISH_BY_DECISION.get(result.decision, "stop"), {"supervisor": block})
            yield "data: [DONE]\n\n"
        elif isinstance(item, Failed):
            yield f"data: {json.dumps({'error': _error(item.error)}, ensure_ascii=False)}\n\n"


def _error(exc: SupervisorError) -> dict:
    return {"message": str(exc), "type": getattr(exc, "type", "server_error"),
            "code": getattr(exc, "code", "internal_error"), "param": None}


class SupervisedStream(StreamingResponse):
    """A streaming response that always watches for the client going away, whatever ASGI spec version the
    server speaks (with 2.4 Starlette would only notice on the next write, which a held answer may not make
    for seconds), and calls `on_close` either way so the upstream call is cancelled."""

    def __init__(self, content: AsyncIterator[str], on_close: Callable[[], None], headers: dict[str, str]):
        super().__init__(content, media_type="text/event-stream", headers={**headers, "Cache-Control": "no-cache"})
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:
                async def respond() -> None:
                    await self.stream_response(send)
                    group.cancel_scope.cancel()

                group.start_soon(respond)
                await self.listen_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            self.on_close()
