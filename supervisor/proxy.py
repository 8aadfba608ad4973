"""One supervised exchange, independent of HTTP: upstream → verdict → enforcement → record.

The HTTP layer (api/openai.py) parses and authenticates, then calls `Proxy.exchange()` (or, for streams,
`Proxy.open_stream()`, whose sentence-window release lives in stream.py), and turns the result or the error
into the OpenAI wire format.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

import structlog

from .enforce import Outcome, enforce, refusal_for
from .errors import StoreError, UpstreamError
from .gate import check_gates
from .hold import hold_from_start
from .limits import LENGTH_RULE, too_long
from .metrics import Metrics
from .policy import Policies, Policy, School
from .privacy.redact import Redactor
from .privacy.storage import stored_form
from .provenance import DISCLOSURE_HEADER, SIGNATURE_HEADER, disclosure, sign_response, with_ai_label
from .rules.rulebook import Compiled, RulebookHolder
from .settings import Settings
from .signing import Signer
from .store.records import ExchangeRecord
from .stream import StreamResult, StreamSession
from .supervision import Supervisor, last_user_message
from .text import lang as langid
from .upstream import Upstream
from .verdict import Verdict

log = structlog.get_logger("supervisor.decision")


def steer(grade: int, guidance: str, already_read: str = "") -> dict:
    """The system message that asks the upstream again, after an answer broke a rule that regenerates."""
    text = f"Rewrite your previous answer for a grade-{grade} student. {guidance}"
    if already_read.strip():
        text += (" The student has already read the beginning quoted below; write only what comes after it, "
                 "without repeating it and without contradicting it: if something in it is wrong, say plainly "
                 f"that it was wrong and give the correct statement.\n\n{already_read}")
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
    age: int | None = None
    class_id: str | None = None
    outbound: list[dict] | None = None     # the messages as they leave for the upstream (redacted)
    redactions: dict = field(default_factory=dict)


@dataclass
class ExchangeResult:
    """What the HTTP layer needs to answer; everything else about the exchange is in its record."""

    request_id: str
    outcome: Outcome
    model: str
    supervision_ms: float
    provenance: dict[str, str] = field(default_factory=dict)   # AI disclosure and signature headers


class _Begun(NamedTuple):
    started: float
    grade: int
    compiled: Compiled
    policy: Policy
    upstream: Upstream
    user: str | None
    outbound: list[dict]
    record: ExchangeRecord


class Proxy:
    def __init__(self, settings: Settings, policies: Policies, rulebooks: RulebookHolder, supervisor: Supervisor,
                 store, secret: str, demo_api_base: str | None = None, signer: Signer | None = None,
                 alerts=None, metrics: Metrics | None = None):
        self.settings = settings
        self.policies = policies
        self.rulebooks = rulebooks
        self.supervisor = supervisor
        self.store = store
        self.secret = secret.encode()
        self.demo_api_base = demo_api_base
        self._redactors: dict[str, Redactor] = {}
        self.signer = signer
        self.alerts = alerts  # Alerter: severe findings notify the school's safeguarding contacts
        self.metrics = metrics or Metrics()  # the app's, served at /metrics; a private one otherwise
        self._streams: set[asyncio.Task] = set()  # running stream sessions, kept referenced until recorded
        self._exchanges: set[asyncio.Task] = set()  # running non-streamed exchanges (drained at shutdown)

    def upstream_for(self, school: School) -> Upstream:
        config = self.settings.upstream_for(school.upstream)
        return Upstream(config, api_base=self.demo_api_base if config.is_demo else None)

    def pseudonym(self, school: School, user: str | None) -> str | None:
        """A keyed pseudonym: stable per student and school, meaningless without the deployment secret."""
        if not user:
            return None
        digest = hmac.new(self.secret, f"{school.id}:{user}".encode(), hashlib.sha256).hexdigest()
        return f"u-{digest[:24]}"

    def redactor(self, school: School) -> Redactor:
        if school.id not in self._redactors:
            privacy = self.policies.policy_for(school).privacy
            self._redactors[school.id] = Redactor(privacy.redact, school.roster)
        return self._redactors[school.id]

    def outbound(self, school: School, chat: ChatRequest) -> list[dict]:
        """The messages with the student's personal data replaced by placeholders: all the upstream ever sees."""
        if chat.outbound is None:
            chat.outbound, chat.redactions = self.redactor(school).redact_messages(chat.messages)
        return chat.outbound

    async def _record(self, rec: ExchangeRecord, chat: ChatRequest) -> None:
        """Store the exchange as the policy says, then alert safeguarding contacts on severe findings (every
        path records through here: gated, upstream failure, complete answer, stream)."""
        school = self.policies.schools[rec.school_id]
        policy = self.policies.policy_for(school)
        try:
            stored = stored_form(rec, policy.privacy.store, self.redactor(school), chat.redactions)
            await asyncio.to_thread(self.store.record, stored)
        except StoreError:
            raise
        except Exception as exc:  # the store's driver, or a value it cannot take: a 503, never a bare 500
            raise StoreError(f"the exchange could not be recorded ({type(exc).__name__}: {exc})") from exc
        finally:
            if self.alerts:  # a safeguarding alert goes out even when the record could not be written
                self.alerts.notify(rec, school, policy)  # a background task: never delays the answer

    def _context(self, school: School, key_grade: int | None, chat: ChatRequest):
        """The grade this request is judged at and the curriculum snapshot it is judged by."""
        grade = school.grade_for(chat.grade if chat.grade is not None else key_grade)
        return grade, self.rulebooks.current.for_country(school.country)

    def _begin(self, request_id: str, school: School, key_grade: int | None, chat: ChatRequest) -> _Begun:
        """What every exchange, streamed or not, starts from: the clock, the grade and curriculum it is judged
        by, the policy, the upstream, the student's pseudonym, the redacted messages, and its record."""
        started = time.perf_counter()
        grade, compiled = self._context(school, key_grade, chat)
        policy = self.policies.policy_for(school)
        upstream = self.upstream_for(school)
        user = self.pseudonym(school, chat.user)
        outbound = self.outbound(school, chat)
        record = self._base_record(request_id, school, chat, grade, upstream.config.model, compiled.curriculum.label)
        return _Begun(started, grade, compiled, policy, upstream, user, outbound, record)

    def _base_record(self, request_id: str, school: School, chat: ChatRequest, grade: int, model: str,
                     curriculum: str) -> ExchangeRecord:
        return ExchangeRecord(request_id=request_id, school_id=school.id,
                              user_pseudonym=self.pseudonym(school, chat.user), model=model, country=school.country,
                              curriculum=curriculum, grade=grade, lang=chat.lang, mode=school.mode,
                              stream=chat.stream, status="ok", decision=None, messages=chat.messages)

    async def gated(self, request_id: str, school: School, key_grade: int | None,
                    chat: ChatRequest) -> ExchangeResult | None:
        """The age gate and exam windows: a refusal the student understands, recorded; None to go on."""
        grade, compiled = self._context(school, key_grade, chat)
        policy = self.policies.policy_for(school)
        lang = chat.lang or langid.detect(last_user_message(chat.messages), default=None)
        refusal = check_gates(min_age=policy.min_age, exam_windows=school.exam_windows, age=chat.age, grade=grade,
                              class_id=chat.class_id, at=datetime.now(UTC), lang=lang,
                              languages=school.languages or compiled.curriculum.languages)
        if refusal is None:
            return None
        finding = refusal.finding()
        verdict = Verdict("block", (finding,), {refusal.rule: "block"}, compiled.curriculum.label,
                          lang or (school.languages or compiled.curriculum.languages)[0], grade, school.mode)
        outcome = Outcome("block", refusal.message, verdict, verdict, attempts=0)
        model = self.upstream_for(school).config.model
        record = self._base_record(request_id, school, chat, grade, model, compiled.curriculum.label)
        record.status, record.decision, record.error = "refused", "block", refusal.reason
        record.rules, record.findings = [refusal.rule], [{**finding.to_dict(), "action": "block"}]
        record.delivered_text, record.lang, record.attempts = refusal.message, verdict.lang, 0
        await self._record(record, chat)
        self._decided("info", request_id=request_id, school=school.id, country=school.country, grade=grade,
                      lang=verdict.lang, decision="block", rules=[refusal.rule], status="refused", reason=refusal.reason,
                      curriculum=compiled.curriculum.label, model=model, stream=chat.stream)
        return ExchangeResult(request_id, outcome, model, 0.0,
                              self._provenance(request_id, outcome, compiled.curriculum.label, model, policy))

    async def exchange(self, request_id: str, school: School, key_grade: int | None, chat: ChatRequest,
                       upstream_text: str | None = None) -> ExchangeResult:
        """Run one exchange. `upstream_text` is given when the caller already collected a streamed answer."""
        if upstream_text is None and (refused := await self.gated(request_id, school, key_grade, chat)):
            return refused
        begun = self._begin(request_id, school, key_grade, chat)
        task = asyncio.current_task()
        if task is not None:
            self._exchanges.add(task)
        try:
            return await self._exchange(request_id, school, chat, begun, upstream_text)
        except asyncio.CancelledError:  # the server is stopping (or the client left): say so in the record
            await self._interrupted(begun.record, chat, begun.started)
            raise
        finally:
            self._exchanges.discard(task)

    async def _interrupted(self, record: ExchangeRecord, chat: ChatRequest, started: float) -> None:
        if record.decision is not None or record.status != "ok":
            return  # it got as far as its own record
        record.status, record.error = "interrupted", ("the exchange was stopped before it was checked and "
                                                      "answered (server shutdown or client gone); nothing was delivered")
        record.latency_ms = (time.perf_counter() - started) * 1000
        try:
            await self._record(record, chat)
        except StoreError as exc:
            log.warning("interrupted_record_failed", request_id=record.request_id, error=str(exc))
        log.warning("interrupted", request_id=record.request_id, school=record.school_id)

    async def drain(self, timeout: float) -> None:
        """Give running exchanges and streams up to `timeout` seconds to write their records (shutdown)."""
        pending = {t for t in (*self._exchanges, *self._streams) if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def _exchange(self, request_id: str, school: School, chat: ChatRequest, begun: _Begun,
                        upstream_text: str | None) -> ExchangeResult:
        started, grade, compiled, policy, upstream, user, outbound, record = begun
        try:
            if upstream_text is None:
                completion = await upstream.complete(chat.params, outbound, user)
                upstream_text, model = completion.text, completion.model
            else:
                model = upstream.config.model
        except UpstreamError as exc:
            record.status, record.error = "upstream_error", str(exc)
            record.latency_ms = (time.perf_counter() - started) * 1000
            await self._record(record, chat)
            log.warning("upstream_failed", request_id=request_id, school=school.id, error=str(exc))
            self.metrics.upstream_failed(upstream.config.model, type(exc).__name__)
            raise
        if self.settings.benchmark_unsupervised:
            return await self._unsupervised(record, chat, upstream_text, model, compiled, grade, school.mode,
                                            started)
        if len(upstream_text) > self.settings.max_judged_chars:
            return await self._too_long(record, chat, upstream_text, model, compiled, grade, school.mode, policy,
                                        started)

        checking = time.perf_counter()
        verdict = await self.supervisor.check(compiled, policy, response=upstream_text, messages=chat.messages,
                                              grade=grade, lang=chat.lang, mode=school.mode)

        async def regenerate(guidance: str) -> str:
            again = await upstream.complete(chat.params, [*outbound, {"role": "assistant", "content":
                                                                   upstream_text}, steer(grade, guidance)], user)
            return again.text

        try:
            outcome = await enforce(verdict, upstream_text, compiled, policy, self.supervisor,
                                    messages=chat.messages, grade=grade, mode=school.mode, regenerate=regenerate)
        except UpstreamError as exc:
            # regeneration failed upstream: the original answer was judged unfit, so the student gets the refusal
            log.warning("regenerate_failed", request_id=request_id, error=str(exc))
            outcome = Outcome("block", refusal_for(verdict, compiled.curriculum), verdict, verdict,
                              policy.regenerate_attempts + 1)
        if policy.privacy.ai_label and outcome.decision != "block":
            outcome = dataclasses.replace(outcome, text=with_ai_label(outcome.text, verdict.lang))
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
        await self._record(record, chat)
        self._decided("info", request_id=request_id, school=school.id, country=school.country, grade=grade,
                      lang=verdict.lang, decision=outcome.decision, rules=verdict.rules,
                      curriculum=compiled.curriculum.label, model=model, stream=chat.stream,
                      supervision_ms=round(supervision_ms, 1), latency_ms=round(latency_ms, 1))
        return ExchangeResult(request_id, outcome, model, supervision_ms,
                              self._provenance(request_id, outcome, compiled.curriculum.label, model, policy))

    def _decided(self, level: str, **fields) -> None:
        """The one log line per decision (ids, decision, rules, timings; never text), and its count."""
        getattr(log, level)("decision", **fields)
        self.metrics.decided(country=fields["country"], decision=fields["decision"], rules=fields["rules"],
                             endpoint="chat", supervision_ms=fields.get("supervision_ms"))

    def _provenance(self, request_id: str, outcome: Outcome, curriculum: str, model: str, policy) -> dict[str, str]:
        return self.provenance(request_id, outcome.decision, outcome.text, curriculum, model, policy)

    def provenance(self, request_id: str, decision: str, text: str, curriculum: str, model: str,
                   policy) -> dict[str, str]:
        headers = {DISCLOSURE_HEADER: disclosure(decision, model, policy.privacy.ai_label)}
        if self.signer is not None:
            headers[SIGNATURE_HEADER] = sign_response(self.signer, text=text, decision=decision,
                                                      curriculum=curriculum, request_id=request_id)
        return headers

    async def _unsupervised(self, record: ExchangeRecord, chat: ChatRequest, text: str, model: str, compiled,
                            grade: int, mode: str, started: float) -> ExchangeResult:
        """Benchmark/audit use only (Settings.benchmark_unsupervised): deliver the upstream's answer unchecked.
        Recorded as status "unsupervised" with no decision, so it can never be mistaken for a passed answer; the
        response is still signed (as decision "unsupervised"), so the proxy's own costs stay in the comparison,
        but it carries no AI-disclosure header, which would claim a supervision that did not happen."""
        verdict = Verdict("unsupervised", (), {}, compiled.curriculum.label, record.lang or "", grade, mode)
        record.model, record.status = model, "unsupervised"
        record.original_text = record.delivered_text = text
        record.latency_ms = (time.perf_counter() - started) * 1000
        await self._record(record, chat)
        log.info("unsupervised", request_id=record.request_id, school=record.school_id,
                 note="benchmark_unsupervised is on: this answer was not checked")
        headers = {}
        if self.signer is not None:
            headers[SIGNATURE_HEADER] = sign_response(self.signer, text=text, decision="unsupervised",
                                                      curriculum=compiled.curriculum.label,
                                                      request_id=record.request_id)
        return ExchangeResult(record.request_id, Outcome("unsupervised", text, verdict, verdict), model, 0.0, headers)

    async def _too_long(self, record: ExchangeRecord, chat: ChatRequest, text: str, model: str, compiled,
                        grade: int, mode: str, policy: Policy, started: float) -> ExchangeResult:
        """An answer longer than the supervisor judges: refused whole (limits.py), recorded as a block."""
        finding, reason = too_long(len(text), self.settings.max_judged_chars)
        curriculum = compiled.curriculum
        lang = chat.lang or langid.detect(last_user_message(chat.messages), default=None) or curriculum.languages[0]
        refusal = curriculum.message(curriculum.refusal, lang)
        verdict = Verdict("block", (finding,), {LENGTH_RULE: "block"}, curriculum.label, lang, grade, mode)
        outcome = Outcome("block", refusal, verdict, verdict, attempts=1)
        record.model, record.lang, record.decision, record.error = model, lang, "block", reason
        record.rules, record.findings = [LENGTH_RULE], [{**finding.to_dict(), "action": "block"}]
        record.original_text, record.delivered_text = text, refusal
        record.latency_ms = (time.perf_counter() - started) * 1000
        await self._record(record, chat)
        self._decided("warning", request_id=record.request_id, school=record.school_id, country=curriculum.country,
                      grade=grade, lang=lang, decision="block", rules=[LENGTH_RULE], status="too_long", chars=len(text),
                      curriculum=curriculum.label, model=model, stream=chat.stream,
                      latency_ms=round(record.latency_ms, 1))
        return ExchangeResult(record.request_id, outcome, model, 0.0,
                              self._provenance(record.request_id, outcome, curriculum.label, model, policy))

    def stream_disclosure(self, school: School, model: str) -> dict[str, str]:
        """A stream's AI disclosure header, sent before its decision is known (the final one is in its last
        chunk, with the signature)."""
        return {DISCLOSURE_HEADER: disclosure("streaming", model, self.policies.policy_for(school).privacy.ai_label)}

    def open_stream(self, request_id: str, school: School, key_grade: int | None,
                    chat: ChatRequest) -> StreamSession:
        """Start a streamed exchange: sentence-window release (stream.py). The caller reads its events."""
        started, grade, compiled, policy, upstream, user, outbound, record = self._begin(request_id, school,
                                                                                         key_grade, chat)

        async def judge(text: str):
            return await self.supervisor.check(compiled, policy, response=text, messages=chat.messages,
                                               grade=grade, lang=chat.lang, mode=school.mode)

        def regenerate(guidance: str, original: str, already_read: str):
            messages = [*outbound, {"role": "assistant", "content": original}, steer(grade, guidance, already_read)]
            return upstream.stream(chat.params, messages, user)

        async def finish(result: StreamResult) -> None:
            record.status, record.error = result.status, result.error
            record.lang = result.lang or chat.lang
            whole = result.status in ("ok", "client_disconnected")
            # An answer cut short by a failure was never judged whole, so it is never recorded as passed; a
            # stricter decision on what was released (flag, rewrite, block) is kept, for the review queue.
            record.decision = result.decision if whole or (result.sent and result.decision != "pass") else None
            record.rules = result.rules
            record.findings = [{**f.to_dict(), "action": result.actions.get(f.rule_id)} for f in result.findings]
            record.original_text = result.original or None
            record.delivered_text = result.sent if whole or result.sent else None
            record.latency_ms = (time.perf_counter() - started) * 1000
            record.supervision_ms = result.supervision_ms
            record.attempts = result.attempts
            result.provenance = self.provenance(request_id, result.decision, result.sent, compiled.curriculum.label,
                                                upstream.config.model, policy)
            await self._record(record, chat)
            if result.status == "upstream_error":
                self.metrics.upstream_failed(upstream.config.model, "stream_failed")
            self._decided("info", request_id=request_id, school=school.id, country=school.country, grade=grade,
                          lang=record.lang, decision=record.decision, rules=result.rules, status=result.status,
                          held=result.held, curriculum=compiled.curriculum.label, model=record.model, stream=True,
                          delivered_chars=len(result.sent), supervision_ms=round(result.supervision_ms, 1),
                          latency_ms=round(record.latency_ms, 1))

        label = (lambda lang: with_ai_label("", lang)) if policy.privacy.ai_label else None
        session = StreamSession(compiled, policy, judge, upstream.stream(chat.params, outbound, user),
                                regenerate, hold_from_start(self.supervisor, compiled, policy, chat.messages,
                                                            grade, school.mode), finish,
                                model=upstream.config.model, ai_label=label,
                                max_chars=self.settings.max_judged_chars,
                                prewarm=lambda sentence: self.supervisor.rows(compiled, [sentence]))
        task = session.start()
        self._streams.add(task)
        task.add_done_callback(self._streams.discard)
        return session
