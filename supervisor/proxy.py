"""One supervised exchange, independent of HTTP: upstream → verdict → enforcement → record.

The HTTP layer (api/openai.py) parses and authenticates, then calls `Proxy.exchange()` (and, for streams,
`Proxy.collect_stream()`), and turns the result or the error into the OpenAI wire format.
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
from .policy import Policies, School
from .rules.rulebook import RulebookHolder
from .settings import Settings
from .store.records import ExchangeRecord
from .supervision import Supervisor
from .upstream import Upstream
from .verdict import Verdict

log = structlog.get_logger("supervisor.decision")


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
        if self.settings.benchmark_unsupervised:
            return await self._unsupervised(record, upstream_text, model, compiled, grade, school.mode, started)

        checking = time.perf_counter()
        verdict = await self.supervisor.check(compiled, policy, response=upstream_text, messages=chat.messages,
                                              grade=grade, lang=chat.lang, mode=school.mode)

        async def regenerate(guidance: str) -> str:
            steer = {"role": "system", "content": f"Rewrite your previous answer for a grade-{grade} student. "
                                                  f"{guidance}"}
            again = await upstream.complete(chat.params, [*chat.messages, {"role": "assistant", "content":
                                                                           upstream_text}, steer], user)
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

    async def _unsupervised(self, record: ExchangeRecord, text: str, model: str, compiled, grade: int, mode: str,
                            started: float) -> ExchangeResult:
        """Benchmark/audit use only (Settings.benchmark_unsupervised): deliver the upstream's answer unchecked.
        Recorded as status "unsupervised" with no decision, so it can never be mistaken for a passed answer."""
        verdict = Verdict("unsupervised", (), {}, compiled.curriculum.label, record.lang or "", grade, mode)
        record.model, record.status = model, "unsupervised"
        record.original_text = record.delivered_text = text
        record.latency_ms = (time.perf_counter() - started) * 1000
        await self._record(record)
        log.info("unsupervised", request_id=record.request_id, school=record.school_id,
                    note="benchmark_unsupervised is on: this answer was not checked")
        return ExchangeResult(record.request_id, Outcome("unsupervised", text, verdict, verdict), model, 0.0)

    async def collect_stream(self, request_id: str, school: School, key_grade: int | None,
                             chat: ChatRequest) -> ExchangeResult:
        """Safe-first streaming: collect the whole upstream stream, then judge it like any answer."""
        upstream = self.upstream_for(school)
        parts: list[str] = []
        started = time.perf_counter()
        try:
            async for delta in upstream.stream(chat.params, chat.messages, self.pseudonym(school, chat.user)):
                parts.append(delta)
        except UpstreamError as exc:
            grade, compiled = self._context(school, key_grade, chat)
            record = self._base_record(request_id, school, chat, grade, upstream.config.model,
                                       compiled.curriculum.label)
            record.status, record.error = "upstream_error", str(exc)
            record.original_text = "".join(parts) or None  # partial text, never delivered
            record.latency_ms = (time.perf_counter() - started) * 1000
            await self._record(record)
            raise
        return await self.exchange(request_id, school, key_grade, chat, upstream_text="".join(parts))
