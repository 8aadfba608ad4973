"""OpenAI-compatible endpoints: chat completions (streaming and not) and models.

Decision headers on every supervised answer: X-Supervisor-Decision, X-Supervisor-Rules,
X-Supervisor-Curriculum (country@version), X-Request-Id. Streams are released sentence by sentence before the
decision is known: their headers say `streaming` and the last chunk carries the decision (api/sse.py). A client may state the student's grade with the
`X-Supervisor-Grade` header (or `metadata.grade` in the body); it is honoured inside the school's band, unless
the key pins another grade (api/pinning.py), which is then a 403.
"""

from __future__ import annotations

import time
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from ..errors import AuthError, SupervisorError
from ..provenance import DISCLOSURE_HEADER, SIGNATURE_HEADER
from ..proxy import ExchangeResult
from ..stream import Failed
from ..text.segment import split
from ..verdict import Verdict
from .body import read_json
from .chat_request import parse_chat
from .errors import error_response
from .pinning import pin_chat
from .sse import FINISH_BY_DECISION, SupervisedStream, chunk_writer, sse_events


def new_request_id() -> str:
    return f"req-{uuid.uuid4().hex[:20]}"


async def authenticate(request: Request, key: str | None = None):
    """Bearer school key (or `key`, when the caller read it from elsewhere, e.g. LiteLLM's `x-api-key`) →
    (School, what the key grants). The key is never logged or forwarded."""
    if not key:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AuthError("missing API key: send `Authorization: Bearer <school key>` "
                            "(issue one with `supervisor keys issue --school ID`)")
    state = request.app.state
    grant = await state.run_sync(state.store.lookup_key, key.strip())
    if not grant:
        raise AuthError("invalid API key: this key is unknown or revoked")
    school = state.policies.schools.get(grant.school_id)
    if school is None:
        raise AuthError(f"the key's school {grant.school_id!r} is no longer configured in policies/schools.yaml")
    return school, grant


def decision_headers(decision: str, verdict: Verdict, request_id: str,
                     duration_ms: float | None = None) -> dict[str, str]:
    """The headers every supervised answer carries (chat completions and /v1/supervise alike)."""
    headers = {
        "X-Supervisor-Decision": decision,
        "X-Supervisor-Rules": ",".join(verdict.rules),
        "X-Supervisor-Curriculum": verdict.curriculum,
        "X-Request-Id": request_id,
    }
    if duration_ms is not None:
        headers["X-Supervisor-Duration-Ms"] = f"{duration_ms:.1f}"
    return headers


def _result_headers(result: ExchangeResult) -> dict[str, str]:
    return {**decision_headers(result.outcome.decision, result.outcome.verdict, result.request_id,
                               result.supervision_ms), **result.provenance}


def _supervisor_block(result: ExchangeResult) -> dict:
    block = {"decision": result.outcome.decision, "rules": result.outcome.verdict.rules,
             "curriculum": result.outcome.verdict.curriculum, "request_id": result.request_id}
    # the same provenance as the headers, so a saved body or a stream's final chunk carries it too
    block.update({key: result.provenance[header] for key, header in
                  (("disclosure", DISCLOSURE_HEADER), ("signature", SIGNATURE_HEADER)) if header in result.provenance})
    return block


async def chat_completions(request: Request):
    request_id = new_request_id()
    try:
        school, grant = await authenticate(request)
        settings = request.app.state.settings
        chat = pin_chat(parse_chat(await read_json(request, settings.max_request_bytes), request.headers,
                                   settings.max_judged_chars), grant)
        key_grade = grant.grade
        proxy = request.app.state.proxy
        if chat.stream:
            if refused := await proxy.gated(request_id, school, key_grade, chat):  # known before any upstream
                return StreamingResponse(_sse(refused), media_type="text/event-stream",
                                         headers={**_result_headers(refused), "Cache-Control": "no-cache"})
            session = proxy.open_stream(request_id, school, key_grade, chat)
            # Headers go with the first checked text, so an upstream that fails before any is an HTTP error.
            try:
                first = await session.first()
            except BaseException:  # the client went away before the first checked text
                session.abandon()
                raise
            if isinstance(first, Failed):
                session.abandon()
                await session.recorded()
                raise first.error
            headers = {"X-Supervisor-Decision": "streaming", "X-Supervisor-Rules": "",
                       "X-Supervisor-Curriculum": session.compiled.curriculum.label, "X-Request-Id": request_id,
                       **proxy.stream_disclosure(school, session.model)}
            return SupervisedStream(sse_events(session, first, request_id), session.abandon, headers)
        result = await proxy.exchange(request_id, school, key_grade, chat)
    except SupervisorError as exc:
        return error_response(exc, request_id)
    text = result.outcome.text
    body = {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": result.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": FINISH_BY_DECISION.get(result.outcome.decision, "stop")}],
        "usage": None,
        "supervisor": _supervisor_block(result),
    }
    return JSONResponse(body, headers=_result_headers(result))


async def _sse(result: ExchangeResult):
    """A stream whose whole answer is known at once (the gates' refusals)."""
    event = chunk_writer(result.request_id, result.model)

    yield event({"role": "assistant", "content": ""})
    text = result.outcome.text
    # one chunk per sentence, cut at each sentence's start so every character (spaces too) is sent once
    cuts = [0, *(s.start for s in split(text)[1:]), len(text)]
    for start, end in zip(cuts, cuts[1:], strict=False):
        if start < end:
            yield event({"content": text[start:end]})
    yield event({}, FINISH_BY_DECISION.get(result.outcome.decision, "stop"),
                {"supervisor": _supervisor_block(result)})
    yield "data: [DONE]\n\n"


async def models(request: Request):
    try:
        school, _ = await authenticate(request)
    except SupervisorError as exc:
        return error_response(exc)
    model = request.app.state.proxy.upstream_for(school).config.model
    return JSONResponse({"object": "list", "data": [{"id": model, "object": "model", "created": 0,
                                                     "owned_by": "supervised"}]})
