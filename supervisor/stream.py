"""Sentence-window release: a streamed answer reaches the student sentence by sentence, and no sentence
reaches the student unchecked.

One `StreamSession` per streamed exchange, running in its own task:
- a reader task takes the upstream's deltas, feeds the incremental Segmenter and queues each sentence once
  its boundary is certain, so the upstream keeps streaming while earlier sentences are judged;
- the releaser takes what is queued (one sentence, or several if judging fell behind) as the *pending*
  piece and judges the delivered text followed by it. The lexical stage sees the joined text, so a phrase
  split across chunks or across sentences is caught; sentence vectors are cached, so each judgement embeds
  only the new sentences (in a worker thread, while the upstream streams on). Findings that lie wholly in
  text already released cannot be retracted and do not stop the stream; findings on the student's message
  (`target: user`) wait for the whole answer, since their conditions read all of it;
- pass / flag: the pending piece is released (flags are recorded); block: the refusal, in the student's
  language, ends the stream and the upstream call is cancelled; rewrite: the pending piece is rewritten by
  the rule's textual strategy (replace terms, remove sentences; notes and help are appended at the end) and
  re-checked before release, or, for `regenerate`, the upstream is stopped and asked again for the rest of
  the answer, which streams through this same loop; a rewrite that still fails, or regeneration that gives
  up after the policy's attempts, ends in the refusal;
- holding (see hold.py): a held answer is judged sentence by sentence as it arrives (a block still ends it
  early) but released only whole, after the final judgement.
Released text stays released. The record gets exactly what the client took and the original upstream text.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from .checks.base import Finding
from .enforce import distress, notes_for, refusal_for, rewrite_text, strategy_of
from .errors import StoreError, SupervisorError, UpstreamError
from .hold import is_held
from .limits import LENGTH_RULE, too_long
from .policy import Policy
from .rules.rulebook import Compiled
from .text.segment import MIN_THAI_LAO_LETTERS, Segmenter, Sentence, letters, split
from .verdict import Verdict, strictest

log = structlog.get_logger("supervisor.stream")

Judge = Callable[[str], Awaitable[Verdict]]
# (guidance, the upstream's original text, the text the student already has) -> the new answer's deltas
Regenerate = Callable[[str, str, str], AsyncIterator[str]]
# Scripts that end a sentence with their own mark and put no space after it.
_NO_SPACE_AFTER = "。！？」』）។៕။"
# A buffer ending in one of these probably ends a sentence; the Segmenter can only be sure once more text
# arrives (a closing quote, a decimal), so the tentative sentence is embedded meanwhile (see _read).
_LIKELY_END = "。！？!?.។៕။"
_THAI_LAO = ("\u0e00", "\u0eff")
# Mid-stream, a new piece is judged after this much released text (from a sentence start), not after all
# of it: longer than any rule phrase, so a phrase across the seam is still caught, and it keeps each check
# the same size however long the answer grows. The last check reads the whole answer (student-message
# rules and the recorded verdict need all of it).
CONTEXT_CHARS = 300
_END = object()


@dataclass(frozen=True)
class _TooLong:
    """The answer passed the session's max_chars after `read` characters."""
    read: int


@dataclass(frozen=True)
class Chunk:
    """Checked text for the student."""
    text: str


@dataclass(frozen=True)
class Closed:
    """The answer is complete; the result holds the decision."""
    result: StreamResult


@dataclass(frozen=True)
class Failed:
    """The upstream failed; nothing unchecked was released, and what was released stays."""
    error: SupervisorError


@dataclass
class StreamResult:
    decision: str = "pass"
    delivered: str = ""              # everything released to the client
    sent: str = ""                   # what the client actually took (less than delivered if it went away)
    original: str = ""               # the upstream's first answer, as far as it was read
    findings: list[Finding] = field(default_factory=list)
    actions: dict[str, str] = field(default_factory=dict)
    verdict: Verdict | None = None   # the judgement of the delivered text, all of it
    lang: str | None = None
    attempts: int = 1
    held: str | None = None          # why the answer was held whole (`policy` or a rule id), if it was
    status: str = "ok"               # ok | client_disconnected | upstream_error | error
    error: str | None = None
    supervision_ms: float = 0.0
    provenance: dict[str, str] = field(default_factory=dict)  # AI disclosure and signature, set when recorded

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(f.rule_id for f in self.findings))


@dataclass
class _Step:
    decision: str                 # strictest action among the answer's findings on the pending piece
    findings: list[Finding]       # those findings
    user: list[Finding]           # findings on the student's message (only once the answer is complete)
    hold: bool                    # a held rule scored on the pending piece


class StreamSession:
    def __init__(self, compiled: Compiled, policy: Policy, judge: Judge, deltas: AsyncIterator[str],
                 regenerate: Regenerate | None, hold_reason: Awaitable[str | None],
                 finish: Callable[[StreamResult], Awaitable[None]], *, model: str = "",
                 prewarm: Callable[[str], object] | None = None,
                 ai_label: Callable[[str | None], str] | None = None, max_chars: int | None = None):
        self.compiled = compiled
        self.model = model
        self._prewarm = prewarm
        self._ai_label = ai_label  # the policy's visible AI label, under every answer that is not refused
        self._prewarming: set[asyncio.Task] = set()
        self.policy = policy
        self._judge_text = judge
        self._deltas = deltas
        self._regenerate = regenerate
        self._hold_reason = hold_reason
        self._finish = finish
        self.result = StreamResult()
        self._events: asyncio.Queue = asyncio.Queue()
        self._consumer_done = asyncio.Event()
        self._recorded = asyncio.Event()
        self._releasing = True
        self._notes: list[str] = []
        self._correcting = False       # the next regenerated rest must open by correcting released text
        self._starts: list[int] = []   # where each released chunk (a sentence) starts in the delivered text
        self._task: asyncio.Task | None = None
        self._unrecorded: StoreError | None = None  # why the exchange could not be recorded, if it could not
        self._max_chars = max_chars  # an answer past this is refused, not judged in part (limits.py)
        self._last_verdict: Verdict | None = None  # the latest judgement (it reads the student's message too)

    # --- the consumer's side (the HTTP layer) ---------------------------------------------------------------
    def start(self) -> asyncio.Task:
        self._task = asyncio.create_task(self._run())
        return self._task

    async def first(self) -> Chunk | Closed | Failed:
        """The first event: the first checked text, the end (held or blocked answers), or an upstream failure
        before anything was released (the caller answers that with an HTTP error)."""
        return await self._events.get()

    async def events(self, first: Chunk | Closed | Failed) -> AsyncIterator[Chunk | Closed | Failed]:
        """Every event from `first` on. Closing this early (client gone) cancels the upstream call. The end
        is handed over only once the exchange is recorded, so a client that saw it can rely on the record."""
        event = first
        try:
            while isinstance(event, Chunk):
                yield event
                self.result.sent += event.text  # resumed: the client took it
                event = await self._events.get()
            self._consumer_done.set()
            await self._recorded.wait()
            if isinstance(event, Closed) and self._unrecorded is not None:
                event = Failed(self._unrecorded)  # no decision for an exchange nobody can look up afterwards
            yield event
        finally:
            if not self._consumer_done.is_set():
                self.abandon()

    async def recorded(self) -> None:
        await self._recorded.wait()

    def abandon(self) -> None:
        """The client went away (or was answered otherwise): stop the upstream; the record says what it got."""
        if not self._consumer_done.is_set() and self.result.status == "ok":
            self.result.status = "client_disconnected"
        self._consumer_done.set()
        if self._releasing and self._task is not None:
            self._task.cancel()

    # --- the session's own task ------------------------------------------------------------------------------
    async def _run(self) -> None:
        result = self.result
        try:
            await self._release_all()
        except asyncio.CancelledError:
            result.status = "client_disconnected"
        except UpstreamError as exc:
            result.status, result.error = "upstream_error", str(exc)
            self._events.put_nowait(Failed(exc))
        except Exception as exc:  # a bug must still leave a record of what the student saw
            log.exception("stream_failed")
            result.status, result.error = "error", f"{type(exc).__name__}: {exc}"
            self._events.put_nowait(Failed(SupervisorError("internal error in the supervisor; the rest of the "
                                                           "answer was not delivered")))
        self._releasing = False
        # The record waits until the client has taken the end or gone away, so it holds what the client took.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._consumer_done.wait(), timeout=300)
        try:
            await self._finish(result)
        except Exception as exc:
            log.exception("stream_record_failed")
            self._unrecorded = StoreError(
                "the answer above could not be recorded (the record store failed: "
                f"{exc if isinstance(exc, StoreError) else type(exc).__name__}), so no decision is given for it; "
                "do not rely on it, and ask again")
        finally:
            self._recorded.set()

    async def _release_all(self) -> None:
        hold = asyncio.create_task(_awaited(self._hold_reason))
        try:
            guidance = await self._release_from(self._deltas, hold, first=True)
            while guidance is not None:
                if self.result.attempts > self.policy.regenerate_attempts or self._regenerate is None:
                    self._refuse()
                    break
                self.result.attempts += 1
                deltas = self._regenerate(guidance, self.result.original, self.result.delivered)
                try:
                    guidance = await self._release_from(deltas, hold, first=False)
                except UpstreamError as exc:  # the first answer was judged unfit: the student gets the refusal
                    log.warning("regenerate_failed", error=str(exc))
                    self._refuse()
                    break
        finally:
            hold.cancel()
        self._events.put_nowait(Closed(self.result))

    async def _read(self, deltas: AsyncIterator[str], queue: asyncio.Queue, parts: list[str],
                    first: bool) -> None:
        segmenter = Segmenter()
        read = queued = 0  # characters read; where the last queued sentence ends
        try:
            async for delta in deltas:
                read += len(delta)
                if self._max_chars is not None and read > self._max_chars:
                    queue.put_nowait(_TooLong(read))  # stop reading: the rest is never released
                    return
                parts.append(delta)
                if first:
                    self.result.original += delta
                done = segmenter.feed(delta)
                for sentence in done:
                    queue.put_nowait(sentence)
                    queued = sentence.end
                if not done:
                    # a Thai/Lao unit whose end only waits on the length of the next piece is released now
                    # rather than up to forty letters later; if that piece is short, the sentence that joins
                    # it to this unit brings only the piece (the releaser keeps an offset) and is judged with
                    # this unit before it
                    early = segmenter.provisional()
                    if early is not None and early.end > queued:
                        queue.put_nowait(early)
                        queued = early.end
                    self._speculate(segmenter.buffer)
            for sentence in segmenter.flush():
                queue.put_nowait(sentence)
            queue.put_nowait(_END)
        except UpstreamError as exc:
            queue.put_nowait(exc)
        finally:
            closing = getattr(deltas, "aclose", None)
            if closing is not None:
                await closing()  # closes the upstream HTTP stream, so the model stops generating

    def _speculate(self, buffer: str) -> None:
        """Embed a sentence that has probably ended while waiting for the text that proves it, so its check
        is a cache hit: the check of sentence N overlaps the upstream's next chunk."""
        tail = buffer.rstrip()
        if self._prewarm is None or not tail:
            return
        # a Thai/Lao space ends a unit only after MIN_THAI_LAO_LETTERS letters (text/segment.py): before that
        # the embedding would be of a fragment no check will ask for
        thai_space = (buffer[-1] == " " and _THAI_LAO[0] <= tail[-1] <= _THAI_LAO[1]
                      and letters(tail) >= MIN_THAI_LAO_LETTERS)
        if tail[-1] in _LIKELY_END or thai_space:
            task = asyncio.create_task(asyncio.to_thread(self._prewarm, tail.strip()))
            self._prewarming.add(task)
            task.add_done_callback(self._prewarmed)

    def _prewarmed(self, task: asyncio.Task) -> None:
        self._prewarming.discard(task)
        if not task.cancelled() and task.exception() is not None:  # only a warm-up: the real check will tell
            log.warning("prewarm_failed", error=repr(task.exception()))

    async def _release_from(self, deltas: AsyncIterator[str], hold: asyncio.Task, first: bool) -> str | None:
        """Release one upstream answer. Returns the guidance when it must be regenerated, else None."""
        queue: asyncio.Queue = asyncio.Queue()
        parts: list[str] = []
        reader = asyncio.create_task(self._read(deltas, queue, parts, first))
        consumed = 0          # offset into this answer up to which text was released, staged or replaced
        staged = ""           # checked text held back (holding), not yet released
        lead = "" if first else self._joiner()
        if self._correcting:  # released text broke the rule: say so before the corrected rest (once released)
            lead = self._correction()
            self._correcting = False
        try:
            while True:
                items = [await queue.get()]
                while not queue.empty():
                    items.append(queue.get_nowait())
                for item in items:
                    if isinstance(item, BaseException):
                        raise item
                    if isinstance(item, _TooLong):
                        self._too_long(item.read)
                        return None
                ended = items[-1] is _END
                sentences = [i for i in items if isinstance(i, Sentence)]
                text = "".join(parts)
                end = len(text) if ended else max(sentences[-1].end, consumed)
                fresh = text[consumed:end] if first else self._unrepeated(text[consumed:end])
                piece = staged + lead + fresh
                if not fresh.strip() and not ended:
                    continue  # nothing new (a Thai/Lao unit released early was confirmed as it was)
                if self.result.held is None and not hold.done():
                    await asyncio.shield(hold)
                if self.result.held is None and hold.done() and not hold.cancelled():
                    self.result.held = hold.result()
                verdict, boundary = await self._judge_after(piece, whole=ended)
                step = self._assess(verdict, boundary, final=ended)
                self._note(step.findings + step.user, verdict)
                if step.decision == "block" or any(verdict.actions[f.rule_id] == "block" for f in step.user):
                    self._refuse()
                    return None
                if step.decision == "rewrite":
                    wants = [f for f in step.findings if verdict.actions[f.rule_id] == "rewrite"]
                    guidance = self._regeneration_guidance(wants, self._released_breaches(verdict, boundary))
                    if guidance is not None:
                        return guidance
                    piece = await self._rewritten(piece, wants, verdict, boundary)
                    if piece is None:
                        self._refuse()
                        return None
                elif step.hold and self.result.held is None:
                    self.result.held = step.findings[0].rule_id if step.findings else "uncertain"
                    log.debug("stream_hold", reason=self.result.held)  # the decision line says held
                consumed, lead = end, ""
                if self.result.held and not ended:
                    staged = piece
                    continue
                staged = ""
                if ended:
                    await self._close(piece, step, verdict)
                    return None
                self._release(piece)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _judge(self, text: str) -> Verdict:
        started = time.perf_counter()
        try:
            verdict = await self._judge_text(text)
        finally:
            self.result.supervision_ms += (time.perf_counter() - started) * 1000
        self.result.lang = verdict.lang
        self._last_verdict = verdict
        return verdict

    async def _judge_after(self, piece: str, whole: bool) -> tuple[Verdict, int]:
        """Judge `piece` after the released text (all of it, or its last CONTEXT_CHARS from a sentence start);
        returns the verdict and where the piece starts in the judged text."""
        done = self.result.delivered
        start = 0
        if not whole:
            start = max((s for s in self._starts if s <= len(done) - CONTEXT_CHARS), default=0)
        verdict = await self._judge(done[start:] + piece)
        return verdict, len(done) - start

    def _assess(self, verdict: Verdict, boundary: int, final: bool) -> _Step:
        curriculum = self.compiled.curriculum
        answer = [f for f in verdict.findings if f.target == "response" and f.span[1] > boundary]
        user = [f for f in verdict.findings if f.target == "user"] if final else []
        scored = answer + [f for f in verdict.uncertain if f.target == "response" and f.span[1] > boundary]
        return _Step(decision=strictest(verdict.actions[f.rule_id] for f in answer), findings=answer, user=user,
                     hold=any(is_held(curriculum.rule(f.rule_id), self.policy) for f in scored))

    def _note(self, findings: list[Finding], verdict: Verdict) -> None:
        """Keep every finding that acted during the stream, once, for the record and the final chunk."""
        known = {(f.rule_id, f.target, f.sentence) for f in self.result.findings}
        for f in findings:
            if (f.rule_id, f.target, f.sentence) not in known:
                self.result.findings.append(f)
                self.result.actions[f.rule_id] = verdict.actions[f.rule_id]
                self.result.decision = strictest([self.result.decision, verdict.actions[f.rule_id]])

    def _regeneration_guidance(self, findings: list[Finding], released: list[str]) -> str | None:
        if self._regenerate is None or self.policy.regenerate_attempts < 1:
            return None  # without an upstream to ask again, regeneration falls back to removal
        curriculum = self.compiled.curriculum
        rules = [curriculum.rule(f.rule_id) for f in findings]
        wanting = [r for r in rules if r and strategy_of(r) == "regenerate"]
        if not wanting:
            return None
        guidance = " ".join(dict.fromkeys(r.rewrite.guidance or r.description for r in wanting))
        if released:
            # the student has read a sentence that breaks the rule and it cannot be taken back: the rest opens
            # with an explicit correction (the stream says so first, see _correction), never a silent contradiction
            self._correcting = True
            guidance += (" The student has already read the following, which is wrong: "
                         + " ".join(f"«{s}»" for s in released)
                         + " Begin by stating the correct fact plainly, then continue.")
        return guidance

    @staticmethod
    def _released_breaches(verdict: Verdict, boundary: int) -> list[str]:
        """Sentences the student already read on which a rule scores: flagged (released on purpose, for a
        teacher) or in a rule's uncertain band (released while the evidence was doubtful). A regenerated rest
        that puts the topic right would contradict them, so it has to say that they were wrong."""
        return list(dict.fromkeys(f.sentence for f in (*verdict.findings, *verdict.uncertain)
                                  if f.target == "response" and f.span[1] <= boundary))

    def _correction(self) -> str:
        """The lead of a regenerated rest that corrects released text: the curriculum's `corrected` message in
        the student's language, on its own paragraph."""
        curriculum = self.compiled.curriculum
        note = curriculum.message(curriculum.corrected, self.result.lang or curriculum.languages[0])
        if not note:
            return self._joiner()
        return ("\n\n" if self.result.delivered.strip() else "") + note + "\n\n"

    async def _rewritten(self, piece: str, findings: list[Finding], verdict: Verdict,
                         boundary: int) -> str | None:
        """The pending piece rewritten by the rules' textual strategies and re-checked; None if still unfit."""
        local = [_shifted(f, -boundary) for f in findings]
        candidate, removed = rewrite_text(piece, local, self.compiled.curriculum)
        self._add_notes(notes_for(findings, self.compiled.curriculum, verdict.lang, removed))
        if candidate and piece[:1].isspace():
            candidate = piece[: len(piece) - len(piece.lstrip())] + candidate
        if not candidate.strip():
            return ""
        again, at = await self._judge_after(candidate, whole=False)
        if self._assess(again, at, final=False).decision not in ("pass", "flag"):
            return None
        return candidate

    async def _close(self, piece: str, step: _Step, verdict: Verdict) -> None:
        """The whole answer is in: release the last piece, then any notes and help, and judge it all."""
        rewriting = [f for f in step.user if verdict.actions[f.rule_id] == "rewrite"]
        self._add_notes(notes_for(rewriting, self.compiled.curriculum, verdict.lang, removed=False))
        closing = "\n\n".join(self._notes)
        if closing:
            closing = ("\n\n" if (self.result.delivered + piece).strip() else "") + closing
        if self._ai_label is not None:
            closing += self._ai_label(self.result.lang)
        final_text = self.result.delivered + piece + closing
        if final_text != self.result.delivered + piece or self.result.decision == "rewrite":
            verdict = await self._judge(final_text)
        self.result.verdict = verdict
        self._release(piece + closing)

    def _add_notes(self, notes: list[str]) -> None:
        for note in notes:
            if note not in self._notes:
                self._notes.append(note)
        if notes:
            self.result.decision = strictest([self.result.decision, "rewrite"])

    def _too_long(self, read: int) -> None:
        finding, reason = too_long(read, self._max_chars or 0)
        self.result.findings.append(finding)
        self.result.actions[LENGTH_RULE] = "block"
        self.result.error = reason
        log.warning("answer_too_long", chars=read)
        self._refuse()

    def _refuse(self) -> None:
        """End the answer with the refusal; a student in distress (as the last judgement read their message)
        gets the help message with it, and the record keeps that finding (it raises the alert)."""
        curriculum = self.compiled.curriculum
        refusal = curriculum.message(curriculum.refusal, self.result.lang or curriculum.languages[0])
        if self._last_verdict is not None:
            self._note(distress(self._last_verdict, curriculum), self._last_verdict)
            refusal = refusal_for(self._last_verdict, curriculum)
        self._release(("\n\n" if self.result.delivered.strip() else "") + refusal)
        self.result.decision = "block"

    def _release(self, text: str) -> None:
        """One chunk per sentence, cut at each sentence's start so every character is sent exactly once."""
        if not text:
            return
        cuts = [0, *(s.start for s in split(text)[1:]), len(text)]
        for start, end in zip(cuts, cuts[1:], strict=False):
            if start < end:
                self._starts.append(len(self.result.delivered) + start)
                self._events.put_nowait(Chunk(text[start:end]))
        self.result.delivered += text

    def _unrepeated(self, text: str) -> str:
        """A regenerated continuation without the sentences the student already has: models asked to go on
        often start again from the top, and a repeated sentence would be delivered (and recorded) twice."""
        sentences = split(text)
        if not sentences:
            return text
        said = {s.text.strip() for s in split(self.result.delivered)}
        cuts = [0, *(s.start for s in sentences[1:]), len(text)]
        kept = [text[a:b] for s, a, b in zip(sentences, cuts, cuts[1:], strict=False) if s.text.strip() not in said]
        if len(kept) < len(sentences):
            log.debug("regenerated_repeats_dropped", dropped=len(sentences) - len(kept))
        return "".join(kept)

    def _joiner(self) -> str:
        """What separates released text from a regenerated continuation."""
        done = self.result.delivered
        return "" if not done or done[-1].isspace() or done[-1] in _NO_SPACE_AFTER else " "


def _shifted(finding: Finding, by: int) -> Finding:
    start, end = finding.span
    return Finding(finding.rule_id, finding.category, finding.severity, finding.stage, finding.score,
                   finding.target, (max(0, start + by), max(0, end + by)), finding.sentence, finding.evidence,
                   finding.uncertain)


async def _awaited(awaitable: Awaitable[str | None]) -> str | None:
    try:
        return await awaitable
    except Exception:  # a pre-check that fails must not release early: hold, and let the final check decide
        log.exception("hold_check_failed")
        return "hold-check-failed"
