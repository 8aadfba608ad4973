"""One supervised exchange, independent of HTTP: upstream → verdict → enforcement → record.

The HTTP layer (api/openai.py) parses and authenticates, then calls `Proxy.exchange()` (or, for streams,
`Proxy.open_stream()`, whose sentence-window release lives in stream.py), and turns the result or the error
into the OpenAI wire format.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass, field

import structlog

from .enforce import Outcome, enforce
from .errors import UpstreamError
from .hold import hold_from_start
from .policy import Policies, School
from .rules.rulebook import RulebookHolder
from .settings import Settings
from .store.records import ExchangeRecord
from .stream import StreamResult, StreamSession
from .supervision import Supervisor
from .upstream import Upstream

log = structlog.get_logger("supervisor.decision")


def steer(grade: int, guidance: str, already_read: str = "") -> dict:
    """The system message that asks the upstream again, after an answer broke a rule that regenerates."""
    text = f"Rewrite your previous answer for a grade-{grade} student. {guidance}"
    if already_read.strip():
        text += (" The student has already read the beginning quoted below; write only what comes after it, "
                 f"without repeating it.\n\n{already_read}")
    return {"role": "system", "content": text}


@dataclass
class ChatRequest:
    messages: list[dict]
    stream: bool
    model: str | None
    params: dict = field(default_factory=dict)
    user: str | None = None
    grade: int | None = None
    lang: str | None = None


@dataclass
class ExchangeResult:
    """What the HTTP layer needs to answer; everything else about the exchange is in its record."""

    request_id: str
    outcome: Outcome
    model: str
    supervision_ms: float


class Proxy:
    def __init__(self, settings: Settings, policies: Policies, rulebooks: RulebookHolder, supervisor: Supervisor,
                 store, secret: str, demo_api_base: str | None = None):
        self.settings = settings
        self.policies = policies
        self.rulebooks = rulebooks
        self.supervisor = supervisor
        self.store = store
        self.secret = secret.encode()
        self.demo_api_base = demo_api_base
        self._streams: set[asyncio.Task] = set()  # running stream sessions, kept referenced until recorded

    def upstream_for(self, school: School) -> Upstream:
        config = self.settings.upstream_for(school.upstream)
        return Upstream(config, api_base=self.demo_api_base if config.is_demo else None)

    def pseudonym(self, school: School, user: str | None) -> str | None:
        """A keyed pseudonym: stable per student and school, meaningless without the deployment secret."""
        if not user:
            return None
        digest = hmac.new(self.secret, f"{school.id}:{user}".encode(), hashlib.sha256).hexdigest()
        return f"u-{digest[:24]}"

    async def _record(self, rec: ExchangeRecord) -> None:
        await asyncio.to_thread(self.store.record, rec)

    def _context(self, school: School, key_grade: int | None, chat: ChatRequest):
        """The grade this request is judged at and the curriculum snapshot it is judged by."""
        grade = school.grade_for(chat.grade if chat.grade is not None else key_grade)
        return grade, self.rulebooks.current.for_country(school.country)

    def _base_record(self, request_id: str, school: School, chat: ChatRequest, grade: int, model: str,
                     curriculum: str) -> ExchangeRecord:
        return ExchangeRecord(request_id=request_id, school_id=school.id,
                              user_pseudonym=self.pseudonym(school, chat.user), model=model, country=school.country,
                              curriculum=curriculum, grade=grade, lang=chat.lang, mode=school.mode,
                              stream=chat.stream, status="ok", decision=None, messages=chat.messages)

    async def exchange(self, request_id: str, school: School, key_grade: int | None, chat: ChatRequest,
                       upstream_text: str | None = None) -> ExchangeResult:
        """Run one exchange. `upstream_text` is given when the caller already collected a streamed answer."""
        started = time.perf_counter()
        grade, compiled = self._context(school, key_grade, chat)
        policy = self.policies.policy_for(school)
        upstream = self.upstream_for(school)
        user = self.pseudonym(school, chat.user)
        record = self._base_record(request_id, school, chat, grade, upstream.config.model, compiled.curriculum.label)
        try:
            if upstream_text is None:
                completion = await upstream.complete(chat.params, chat.messages, user)
                upstream_text, model = completion.text, completion.model
            else:
                model = upstream.config.model
        except UpstreamError as exc:
            record.status, record.error = "upstream_error", str(exc)
            record.latency_ms = (time.perf_counter() - started) * 1000
            await self._record(record)
            log.warning("upstream_failed", request_id=request_id, school=school.id, error=str(exc))
            raise

        checking = time.perf_counter()
        verdict = await self.supervisor.check(compiled, policy, response=upstream_text, messages=chat.messages,
                                              grade=grade, lang=chat.lang, mode=school.mode)

        async def regenerate(guidance: str) -> str:
            again = await upstream.complete(chat.params, [*chat.messages, {"role": "assistant", "content":
                                                                           upstream_text}, steer(grade, guidance)],
                                            user)
            return again.text

        try:
            outcome = await enforce(verdict, upstream_text, compiled, policy, self.supervisor,
                                    messages=chat.messages, grade=grade, mode=school.mode, regenerate=regenerate)
        except UpstreamError as exc:
            # regeneration failed upstream: the original answer was judged unfit, so the student gets the refusal
            log.warning("regenerate_failed", request_id=request_id, error=str(exc))
            refusal = compiled.curriculum.message(compiled.curriculum.refusal, verdict.lang)
            outcome = Outcome("block", refusal, verdict, verdict, policy.regenerate_attempts + 1)
        supervision_ms = (time.perf_counter() - checking) * 1000
        latency_ms = (time.perf_counter() - started) * 1000

        record.model = model
        record.lang = verdict.lang
        record.decision = outcome.decision
        record.rules = verdict.rules
        record.findings = [{**f.to_dict(), "action": verdict.actions.get(f.rule_id)} for f in verdict.findings]
        record.original_text = upstream_text
        record.delivered_text = outcome.text
        record.latency_ms = latency_ms
        record.supervision_ms = supervision_ms
        record.attempts = outcome.attempts
        await self._record(record)
        log.info("decision", request_id=request_id, school=school.id, country=school.country, grade=grade,
                 lang=verdict.lang, decision=outcome.decision, rules=verdict.rules,
                 curriculum=compiled.curriculum.label, model=model, stream=chat.stream,
                 supervision_ms=round(supervision_ms, 1), latency_ms=round(latency_ms, 1))
        return ExchangeResult(request_id, outcome, model, supervision_ms)

    def open_stream(self, request_id: str, school: School, key_grade: int | None,
                    chat: ChatRequest) -> StreamSession:
        """Start a streamed exchange: sentence-window release (stream.py). The caller reads its events."""
        started = time.perf_counter()
        grade, compiled = self._context(school, key_grade, chat)
        policy = self.policies.policy_for(school)
        upstream = self.upstream_for(school)
        user = self.pseudonym(school, chat.user)
        record = self._base_record(request_id, school, chat, grade, upstream.config.model, compiled.curriculum.label)

        async def judge(text: str):
            return await self.supervisor.check(compiled, policy, response=text, messages=chat.messages,
                                               grade=grade, lang=chat.lang, mode=school.mode)

        def regenerate(guidance: str, original: str, already_read: str):
            messages = [*chat.messages, {"role": "assistant", "content": original},
                        steer(grade, guidance, already_read)]
            return upstream.stream(chat.params, messages, user)

        async def finish(result: StreamResult) -> None:
            record.status, record.error = result.status, result.error
            record.lang = result.lang or chat.lang
            judged = result.status in ("ok", "client_disconnected") or bool(result.sent)
            record.decision = result.decision if judged else None
            record.rules = result.rules
            record.findings = [{**f.to_dict(), "action": result.actions.get(f.rule_id)} for f in result.findings]
            record.original_text = result.original or None
            record.delivered_text = result.sent if judged else None
            record.latency_ms = (time.perf_counter() - started) * 1000
            record.supervision_ms = result.supervision_ms
            record.attempts = result.attempts
            await self._record(record)
            log.info("decision", request_id=request_id, school=school.id, country=school.country, grade=grade,
                     lang=record.lang, decision=record.decision, rules=result.rules, status=result.status,
                     held=result.held, curriculum=compiled.curriculum.label, model=record.model, stream=True,
                     delivered_chars=len(result.sent), supervision_ms=round(result.supervision_ms, 1),
                     latency_ms=round(record.latency_ms, 1))

        session = StreamSession(compiled, policy, judge, upstream.stream(chat.params, chat.messages, user),
                                regenerate, hold_from_start(self.supervisor, compiled, policy, chat.messages,
                                                            grade, school.mode), finish,
                                model=upstream.config.model,
                                prewarm=lambda sentence: self.supervisor.similarities(compiled, [sentence]))
        task = session.start()
        self._streams.add(task)
        task.add_done_callback(self._streams.discard)
        return session
