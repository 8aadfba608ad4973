"""Supervision of one answer: prepare the texts, embed their sentences once, and ask the pure verdict.

Everything CPU-heavy (embedding) runs in a worker thread so the event loop keeps streaming other students'
answers. The optional LLM judge is consulted only for findings in the uncertain band.
"""

from __future__ import annotations

import asyncio
import threading
import unicodedata
import weakref
from collections import OrderedDict

import numpy as np

from .checks.base import CheckContext, TextView
from .checks.semantic import reads_halves, requested_rules
from .models.embedder import CachedEmbedder
from .models.judge import Judge
from .policy import Policy
from .rules.model import phrases_of
from .rules.rulebook import Compiled
from .text import lang as langid
from .text.normalize import fold, holds_any, normalize
from .text.segment import split, with_halves
from .verdict import Verdict, evaluate

# Similarity rows kept per curriculum snapshot: a stream re-judges the text it already released at every
# sentence, so only a new sentence's row should cost anything. A row is ~14 kB for the shipped curricula.
ROWS_PER_INDEX = 512


def last_user_message(messages: list[dict] | None) -> str:
    for message in reversed(messages or []):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


# A student's request may come turns before the answer that serves it ("how do I get into my brother's
# account?" ... "ok, and the next step?"): the request stage reads the last message and this many of the
# student's messages before it. Rules on the student's own message read the last message only.
EARLIER_TURNS = 2


def earlier_user_messages(messages: list[dict] | None) -> list[str]:
    """The student's messages before the last one: the nearest EARLIER_TURNS of them, oldest first."""
    said = [content_text(m.get("content")) for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
    return [text for text in said[:-1][-EARLIER_TURNS:] if text.strip()]


def content_text(content) -> str:
    """OpenAI message content may be a string or a list of parts; only text parts are judged."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def embedding_text(sentence: str) -> str:
    """What the model reads for a sentence: the sentence itself, or its folded form when folding undid an
    obfuscation (zero-width characters splitting words, Cyrillic look-alike letters, leetspeak). Ordinary text,
    where folding changes only case and character width, is embedded as written, so that the model sees
    what the curriculum's examples look like."""
    unhidden = normalize(sentence, leet=False).text
    if unhidden != unicodedata.normalize("NFKC", sentence).casefold():
        return normalize(sentence).text
    # one digit inside a word is ordinary ("1st", "mp3"); two or more such words look like leetspeak
    folded = normalize(sentence).text
    changed = sum(a != b for a, b in zip(unhidden.split(), folded.split(), strict=True))
    return folded if changed >= 2 else sentence


# An answer "declines" when one of its first sentences is a refusal, redirection or word of support: models
# open with the refusal ("I can't help with that. Instead, ..."), and a later caution inside a compliant answer
# ("be careful, this is illegal") does not make it a refusal.
OPENING_SENTENCES = 2


def request_context(compiled: Compiled, answer: TextView, user: TextView, refusal_markers: tuple[str, ...],
                    help_markers: tuple[str, ...]) -> tuple[bool, bool]:
    """(the student's message asks for something harmful, the answer declines or supports), from the heads and
    the curriculum's markers (every language's, flattened once per check by the caller)."""
    learned = compiled.learned
    if learned is None:
        return False, False
    harmful = declines = False
    request, stance = learned.column("request"), learned.column("stance")
    asked = user.asked()
    if request is not None and asked.probabilities is not None and len(asked.probabilities):
        limit = learned.thresholds["request"].fire
        # a calibrated threshold of ~1 means the head could not tell harmful requests on held-out data: unused
        harmful = limit < 0.999 and bool(asked.probabilities[:, request].max() >= limit)
    if stance is not None and answer.probabilities is not None and len(answer.probabilities):
        opening = answer.probabilities[:OPENING_SENTENCES, stance]
        declines = bool(opening.max() >= learned.thresholds["stance"].fire)
    return harmful, declines or _near_refusal(compiled, answer) or _marked_declining(answer, refusal_markers,
                                                                                     help_markers)


def _marked_declining(answer: TextView, refusal_markers: tuple[str, ...], help_markers: tuple[str, ...]) -> bool:
    """An opening sentence holds one of the curriculum's refusal markers ("I can't help with", "não posso"), or
    the answer points the student to help (a help marker: counsellor, trusted adult, helpline). The stance head
    misses plain refusals in languages it saw few of (Tetum, Portuguese, Thai: 0.0-0.2 on "I can't help you
    with that"), and an answer that goes along with a harmful request does not send the student to a counsellor."""
    opening = " ".join(fold(s.text) for s in answer.sentences[:OPENING_SENTENCES])
    return holds_any(opening, refusal_markers) or holds_any(answer.folded.text, help_markers)


def _near_refusal(compiled: Compiled, answer: TextView) -> bool:
    """An opening sentence whose nearest example is one of the curricula's refusals, within the semantic
    threshold: the nearest-example reading of stance, for languages where the stance head is weak."""
    index = compiled.index
    if answer.similarities is None or not len(answer.sentences) or not len(index.refusals):
        return False
    opening = answer.similarities[:OPENING_SENTENCES]
    refusal = opening[:, index.refusals].max(axis=1)
    harm = opening[:, index.all_matches].max(axis=1) if len(index.all_matches) else np.full(len(opening), -1.0)
    return bool(((refusal >= index.threshold) & (refusal >= harm)).any())


def _view(text: str) -> TextView:
    return TextView(text=text, folded=normalize(text), sentences=split(text))


class Supervisor:
    def __init__(self, embedder: CachedEmbedder, judge: Judge | None = None):
        self.embedder = embedder
        self.judge = judge
        self._rows: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # index -> {sentence: row}
        self._rows_lock = threading.Lock()

    def rows(self, compiled: Compiled, sentences: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Each sentence's similarities to every example of the curriculum, and its learned heads'
        probabilities (None without heads). Cached per sentence text and curriculum snapshot."""
        with self._rows_lock:
            rows = self._rows.setdefault(compiled.index, OrderedDict())
            missing = [t for t in dict.fromkeys(sentences) if t not in rows]
        if missing:
            sims, probs = self._compute(compiled, missing)
            with self._rows_lock:
                for i, text in enumerate(missing):
                    rows[text] = (sims[i], probs[i] if probs is not None else None)
        with self._rows_lock:
            found = [rows.get(t) for t in sentences]
            for t in sentences:
                if t in rows:
                    rows.move_to_end(t)
            while len(rows) > ROWS_PER_INDEX:
                rows.popitem(last=False)
        if not found or any(row is None for row in found):  # none asked, or evicted meanwhile: compute directly
            return self._compute(compiled, sentences)
        sims = np.stack([row[0] for row in found])
        probs = np.stack([row[1] for row in found]) if compiled.learned is not None else None
        return sims, probs

    def _compute(self, compiled: Compiled, sentences: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
        vectors = (self.embedder.embed([embedding_text(t) for t in sentences]) if sentences
                   else np.zeros((0, self.embedder.dim), np.float32))
        probs = compiled.learned.probabilities(vectors) if compiled.learned is not None else None
        return compiled.index.similarities(vectors), probs

    def prepare(self, compiled: Compiled, response: str, user_text: str,
                earlier: list[str] | tuple[str, ...] = ()) -> tuple[TextView, TextView]:
        """Fold, split and embed both texts in one batch (the CPU-heavy part; call it off the event loop).
        `earlier`: the student's messages before the last one (earlier_user_messages), read by the request
        stage only (TextView.request)."""
        answer, user = _view(response), _view(user_text)
        needs_user = compiled.learned is not None or any(r.target == "user" for r in compiled.curriculum.rules)
        halving = any(reads_halves(r) for r in compiled.curriculum.rules)
        halved = with_halves(user.sentences)[len(user.sentences):] if halving else []
        # the message read as one text too, when it has several sentences: see TextView.message_probabilities
        whole = [user.text.strip()] if halving and compiled.learned is not None and len(user.sentences) > 1 else []
        before = [s for text in earlier for s in split(text)] if compiled.learned is not None else []
        sentences = [s.text for s in answer.sentences] + (
            [s.text for s in user.sentences] + [h.text for h in halved] + whole if needs_user else []
        ) + [s.text for s in before]
        similarities, probabilities = self.rows(compiled, sentences)
        n, m = len(answer.sentences), len(answer.sentences) + len(user.sentences)
        end = m + len(halved)
        answer.similarities = similarities[:n]
        user.similarities = similarities[n:m] if needs_user else None
        if probabilities is not None:
            answer.probabilities = probabilities[:n]
            user.probabilities = probabilities[n:m] if needs_user else None
        if needs_user:
            user.parts = TextView(text=user.text, folded=user.folded, sentences=user.sentences + halved,
                                  similarities=similarities[n:end],
                                  probabilities=probabilities[n:end] if probabilities is not None else None,
                                  halves_from=len(user.sentences))
            if probabilities is not None and len(user.sentences):
                user.parts.message_probabilities = probabilities[end] if whole else probabilities[n]
        if before and needs_user and self._answers_earlier(compiled, answer, user, before):
            rows = [*range(n, m), *range(len(sentences) - len(before), len(sentences))]
            user.request = TextView(text=user.text, folded=user.folded, sentences=user.sentences + before,
                                    similarities=similarities[rows],
                                    probabilities=probabilities[rows] if probabilities is not None else None)
        return answer, user

    def _answers_earlier(self, compiled: Compiled, answer: TextView, user: TextView, before: list) -> bool:
        """Whether the answer is about what the student asked in an earlier turn more than about the last
        message: "ok, and the next step?" carries no topic, and the answer that follows it serves the earlier
        request; "forget it, how do volcanoes form?" does, and the answer serves it. The nearest pair of
        sentences decides, in the index's projection (what a sentence says rather than its language), from
        vectors the embedding cache already holds."""
        if not answer.sentences:
            return False
        texts = [embedding_text(s.text) for s in (*answer.sentences, *user.sentences, *before)]
        projected = compiled.index.project(self.embedder.embed(texts))
        n, m = len(answer.sentences), len(answer.sentences) + len(user.sentences)
        said = projected[:n].T
        earlier = float((projected[m:] @ said).max())
        last = float((projected[n:m] @ said).max()) if m > n else -1.0
        return earlier > last

    def view(self, compiled: Compiled, text: str) -> TextView:
        """One text folded, split and embedded against the curriculum's examples (CPU work: off the loop)."""
        view = _view(text)
        view.similarities, view.probabilities = self.rows(compiled, [s.text for s in view.sentences])
        return view

    def check_sync(self, compiled: Compiled, policy: Policy, *, response: str, messages=None,
                   grade: int | None = None, lang: str | None = None, mode: str = "tutor") -> Verdict:
        return self.check_in_context_sync(compiled, policy, response=response, messages=messages, grade=grade,
                                          lang=lang, mode=mode)[0]

    def check_in_context_sync(self, compiled: Compiled, policy: Policy, *, response: str, messages=None,
                              grade: int | None = None, lang: str | None = None,
                              mode: str = "tutor") -> tuple[Verdict, CheckContext]:
        """`check_sync`'s verdict with what it was judged in: whether the student's message read as a harmful
        request, whether the answer declines (bench/verdict_sources.py)."""
        return self._judged(compiled, policy, response, last_user_message(messages), grade, lang, mode,
                            earlier_user_messages(messages))

    def _judged(self, compiled: Compiled, policy: Policy, response: str, user_text: str, grade, lang,
                mode: str, earlier: list[str] | tuple[str, ...] = ()) -> tuple[Verdict, CheckContext]:
        answer, user = self.prepare(compiled, response, user_text, earlier)
        ctx = self._context(compiled, answer, user, grade, lang)
        return evaluate(ctx, compiled.curriculum, compiled.checks, policy, mode), ctx

    async def check(self, compiled: Compiled, policy: Policy, *, response: str, messages=None,
                    grade: int | None = None, lang: str | None = None, mode: str = "tutor") -> Verdict:
        user_text = last_user_message(messages)
        # all of it in a worker thread: embedding, and scoring every rule (numpy over thousands of columns per
        # sentence) would otherwise hold up every other request and stream on the event loop meanwhile
        verdict, ctx = await asyncio.to_thread(self._judged, compiled, policy, response, user_text, grade, lang,
                                               mode, earlier_user_messages(messages))
        if self.judge and verdict.uncertain:
            upheld = await self.judge.confirm(compiled.curriculum, verdict.uncertain, response, user_text)
            if upheld:
                verdict = evaluate(ctx, compiled.curriculum, compiled.checks, policy, mode, frozenset(upheld))
        return verdict

    @staticmethod
    def _context(compiled: Compiled, answer: TextView, user: TextView, grade, lang) -> CheckContext:
        curriculum = compiled.curriculum
        # Messages to the student (refusal, help) go in the student's language, so the student's own words
        # decide it; the answer's language is the fallback (an upstream may reply in English to anyone).
        language = (lang or langid.detect(user.text, default=None)
                    or langid.detect(answer.text, default=curriculum.languages[0]))
        helps, refusals = phrases_of(curriculum.help_markers), phrases_of(curriculum.refusal_markers)
        harmful, declines = request_context(compiled, answer, user, refusals, helps)
        return CheckContext(response=answer, user=user, lang=language, grade=grade, help_markers=helps,
                            refusal_markers=refusals,
                            harmful_request=harmful, answer_declines=declines,
                            requested=requested_rules(user.asked(), compiled.index, compiled.learned))
