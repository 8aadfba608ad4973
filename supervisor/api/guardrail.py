"""`POST /beta/litellm_basic_guardrail_api`: the supervisor as a guardrail of LiteLLM's proxy.

A district that already runs LiteLLM's proxy adds curriculum supervision without moving its clients, through
LiteLLM's Generic Guardrail API (`guardrail: generic_guardrail_api`; LiteLLM appends this path to `api_base`
and sends the configured `api_key` as `x-api-key`, here a school key from `supervisor keys issue`).

LiteLLM posts `{"input_type": "request" | "response", "texts": [...], "structured_messages"?, "model"?,
"additional_provider_specific_params"?}` and expects `{"action": "NONE" | "BLOCKED" | "GUARDRAIL_INTERVENED",
"blocked_reason"?, "texts"?}`:
- `request` (LiteLLM's pre_call): personal data in the student's messages is redacted by the school's policy
  (GUARDRAIL_INTERVENED with the redacted texts: nothing personal reaches the model), and a rule on the
  student's message that blocks answers BLOCKED with the refusal in the student's language;
- `response` (post_call): each text is judged as an answer: pass and flag are NONE, rewrite is
  GUARDRAIL_INTERVENED with the rewritten text (a rule that would regenerate removes the offending sentences,
  as /v1/supervise does), block is BLOCKED with the refusal.
The key gives the school, hence country and mode; `additional_provider_specific_params` may state `grade` and
`lang` (a key's pinned grade wins). What proxying through the supervisor gives and this does not: the answer
is judged without the student's question (LiteLLM's post-call payload does not carry it), nothing is
recorded for the review queue, the audit chain or safeguarding alerts, and streamed answers are checked only
as LiteLLM samples them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..enforce import enforce
from ..errors import BadRequest, SupervisorError
from ..verdict import Verdict
from .body import read_json
from .chat_request import grade_of, judged_length, lang_of
from .errors import error_response
from .openai import authenticate, new_request_id
from .pinning import pinned_grade

PATH = "/beta/litellm_basic_guardrail_api"

log = structlog.get_logger("supervisor.decision")


@dataclass
class Answer:
    """What LiteLLM is told (`body`), and what the decision log says about it."""

    action: str
    decision: str
    verdict: Verdict | None
    rules: list[str] = field(default_factory=list)
    blocked_reason: str | None = None
    texts: list[str] | None = None

    @property
    def body(self) -> dict:
        return {"action": self.action, **({"blocked_reason": self.blocked_reason} if self.blocked_reason else {}),
                **({"texts": self.texts} if self.texts is not None else {})}


async def litellm_guardrail(request: Request):
    request_id = new_request_id()
    started = time.perf_counter()
    try:
        school, grant = await authenticate(request, request.headers.get("x-api-key"))
        state = request.app.state
        settings = state.settings
        body = await read_json(request, settings.max_request_bytes)
        if not isinstance(body, dict):
            raise BadRequest("the body must be LiteLLM's guardrail request object")
        phase, texts = body.get("input_type"), body.get("texts") or []
        if phase not in ("request", "response"):
            raise BadRequest("`input_type` must be request or response", "input_type")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise BadRequest("`texts` must be a list of strings", "texts")
        for text in texts:
            judged_length(text, "a text", settings.max_judged_chars)
        params = body.get("additional_provider_specific_params") or {}
        if not isinstance(params, dict):
            raise BadRequest("`additional_provider_specific_params` must be an object such as {\"grade\": 8}",
                             "additional_provider_specific_params")
        grade = pinned_grade(grant, grade_of(params.get("grade"), "additional_provider_specific_params.grade"))
        lang = lang_of(params.get("lang"), "additional_provider_specific_params.lang")
        compiled = state.rulebooks.current.for_country(school.country)
        policy = state.policies.policy_for(school)
        judge = {"compiled": compiled, "policy": policy, "grade": grade, "lang": lang, "mode": school.mode}
        if phase == "request":
            answer = await _request(state, school, texts, _last_user(body, texts), judge)
        else:
            answer = await _response(state, texts, judge)
    except SupervisorError as exc:
        return error_response(exc, request_id)
    verdict = answer.verdict
    log.info("decision", request_id=request_id, school=school.id, country=school.country,
             grade=verdict.grade if verdict else grade, lang=verdict.lang if verdict else lang,
             decision=answer.decision, rules=answer.rules, curriculum=compiled.curriculum.label,
             endpoint="litellm_guardrail", phase=phase, latency_ms=round((time.perf_counter() - started) * 1000, 1))
    request.app.state.metrics.decided(country=school.country, decision=answer.decision, rules=answer.rules,
                                      endpoint="litellm_guardrail")
    return JSONResponse(answer.body, headers={"X-Request-Id": request_id})


def _last_user(body: dict, texts: list[str]) -> str:
    """The student's last message: from the structured messages when LiteLLM sends them, else the last text."""
    for message in reversed(body.get("structured_messages") or []):
        if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return texts[-1] if texts else ""


async def _request(state, school, texts: list[str], last_user: str, judge: dict) -> Answer:
    verdict = await state.supervisor.check(judge["compiled"], judge["policy"], response="",
                                           messages=[{"role": "user", "content": last_user}], grade=judge["grade"],
                                           lang=judge["lang"], mode=judge["mode"])
    if verdict.decision == "block":
        outcome = await enforce(verdict, "", judge["compiled"], judge["policy"], state.supervisor,
                                messages=[{"role": "user", "content": last_user}], grade=judge["grade"],
                                mode=judge["mode"])
        return Answer("BLOCKED", "block", verdict, list(verdict.rules), blocked_reason=outcome.text)
    redactor = state.proxy.redactor(school)
    redacted = [redactor.redact(text).text for text in texts]
    if redacted != texts:  # the decision is the verdict's; the log's rules say nothing of redaction
        return Answer("GUARDRAIL_INTERVENED", verdict.decision, verdict, list(verdict.rules), texts=redacted)
    return Answer("NONE", verdict.decision, verdict, list(verdict.rules))


async def _response(state, texts: list[str], judge: dict) -> Answer:
    out, decisions, rules, last = [], [], [], None
    for text in texts:
        verdict = await state.supervisor.check(judge["compiled"], judge["policy"], response=text, grade=judge["grade"],
                                               lang=judge["lang"], mode=judge["mode"])
        outcome = await enforce(verdict, text, judge["compiled"], judge["policy"], state.supervisor, messages=None,
                                grade=judge["grade"], mode=judge["mode"])
        rules.extend(r for r in verdict.rules if r not in rules)
        decisions.append(outcome.decision)
        last = verdict
        if outcome.decision == "block":
            return Answer("BLOCKED", "block", verdict, rules, blocked_reason=outcome.text)
        out.append(outcome.text if outcome.decision == "rewrite" else text)
    decision = "rewrite" if "rewrite" in decisions else "flag" if "flag" in decisions else "pass"
    if decision == "rewrite":
        return Answer("GUARDRAIL_INTERVENED", decision, last, rules, texts=out)
    return Answer("NONE", decision, last, rules)
