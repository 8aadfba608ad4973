"""`POST /v1/supervise`: check-only, for gateways that want the supervisor without proxying through it.

Body: {"country", "grade", "lang", "messages", "response", "mode"?}; country, mode and a key's pinned grade
can only be stated as the key's school has them (api/pinning.py). Returns the verdict (decision, rules
with evidence spans and scores) and the text the student would receive. Nothing is sent upstream; a rule
that would regenerate falls back to removing the offending sentences.
"""

from __future__ import annotations

import time

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..enforce import enforce
from ..errors import BadRequest, SupervisorError
from ..policy import MODES
from ..supervision import last_user_message
from .body import read_json
from .chat_request import grade_of, judged_length, lang_of, parse_messages
from .errors import error_response
from .openai import authenticate, decision_headers, new_request_id
from .pinning import pinned_grade, school_country, school_mode

log = structlog.get_logger("supervisor.decision")


async def supervise(request: Request):
    request_id = new_request_id()
    started = time.perf_counter()
    try:
        school, grant = await authenticate(request)
        settings = request.app.state.settings
        body = await read_json(request, settings.max_request_bytes)
        response = body.get("response")
        if not isinstance(response, str):
            raise BadRequest("`response` (the answer to judge) must be a string", "response")
        judged_length(response, "`response`", settings.max_judged_chars)
        messages = parse_messages(body.get("messages"), required=False)
        last_user = last_user_message(messages)
        judged_length(last_user, "the student's last message", settings.max_judged_chars)
        country = body.get("country")
        if country not in (None, "") and (not isinstance(country, str) or len(country) != 2):
            raise BadRequest("`country` must be a two-letter code such as jp or th", "country")
        mode = body.get("mode")
        if mode not in (None, "") and (not isinstance(mode, str) or mode not in MODES):
            raise BadRequest(f"`mode` must be one of {', '.join(MODES)}", "mode")
        country, mode = school_country(school, country), school_mode(school, mode)
        grade = pinned_grade(grant, grade_of(body.get("grade"), "grade"))
        lang = lang_of(body.get("lang"), "lang")
        state = request.app.state
        compiled = state.rulebooks.current.for_country(country)
        policy = state.policies.policy_for(school)
        verdict = await state.supervisor.check(compiled, policy, response=response, messages=messages, grade=grade,
                                               lang=lang, mode=mode)
        outcome = await enforce(verdict, response, compiled, policy, state.supervisor, messages=messages,
                                grade=grade, mode=mode)
    except SupervisorError as exc:
        return error_response(exc, request_id)
    log.info("decision", request_id=request_id, school=school.id, country=country, grade=verdict.grade,
             lang=verdict.lang, decision=outcome.decision, rules=verdict.rules, curriculum=verdict.curriculum,
             endpoint="supervise", latency_ms=round((time.perf_counter() - started) * 1000, 1))
    request.app.state.metrics.decided(country=country, decision=outcome.decision, rules=verdict.rules,
                                      endpoint="supervise")
    return JSONResponse({**verdict.to_dict(), "decision": outcome.decision, "final_text": outcome.text,
                         "request_id": request_id},
                        headers=decision_headers(outcome.decision, verdict, request_id))
