"""Supervision of one answer: prepare the texts, embed their sentences once, and ask the pure verdict.

Everything CPU-heavy (embedding) runs in a worker thread so the event loop keeps streaming other students'
answers. The optional LLM judge is consulted only for findings in the uncertain band.
"""

from __future__ import annotations

import asyncio

import numpy as np

from .checks.base import CheckContext, TextView
from .models.embedder import CachedEmbedder
from .models.judge import Judge
from .policy import Policy
from .rules.rulebook import Compiled
from .text import lang as langid
from .text.normalize import normalize
from .text.segment import split
from .verdict import Verdict, evaluate


def last_user_message(messages: list[dict] | None) -> str:
    for message in reversed(messages or []):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def content_text(content) -> str:
    """OpenAI message content may be a string or a list of parts; only text parts are judged."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _view(text: str) -> TextView:
    return TextView(text=text, folded=normalize(text), sentences=split(text))


class Supervisor:
    def __init__(self, embedder: CachedEmbedder, judge: Judge | None = None):
        self.embedder = embedder
        self.judge = judge

    def prepare(self, compiled: Compiled, response: str, user_text: str) -> tuple[TextView, TextView]:
        """Fold, split and embed both texts in one batch (the CPU-heavy part; call it off the event loop)."""
        answer, user = _view(response), _view(user_text)
        needs_user = any(r.target == "user" for r in compiled.curriculum.rules)
        sentences = [s.text for s in answer.sentences] + ([s.text for s in user.sentences] if needs_user else [])
        vectors = self.embedder.embed(sentences) if sentences else np.zeros((0, self.embedder.dim), np.float32)
        n = len(answer.sentences)
        answer.similarities = compiled.index.similarities(vectors[:n])
        user.similarities = compiled.index.similarities(vectors[n:]) if needs_user else None
        return answer, user

    def view(self, compiled: Compiled, text: str) -> TextView:
        """One text folded, split and embedded against the curriculum's examples (CPU work: off the loop)."""
        view = _view(text)
        vectors = self.embedder.embed([s.text for s in view.sentences]) if view.sentences \
            else np.zeros((0, self.embedder.dim), np.float32)
        view.similarities = compiled.index.similarities(vectors)
        return view

    def check_sync(self, compiled: Compiled, policy: Policy, *, response: str, messages=None,
                   grade: int | None = None, lang: str | None = None, mode: str = "tutor") -> Verdict:
        user_text = last_user_message(messages)
        answer, user = self.prepare(compiled, response, user_text)
        ctx = self._context(compiled, answer, user, grade, lang)
        return evaluate(ctx, compiled.curriculum, compiled.checks, policy, mode)

    async def check(self, compiled: Compiled, policy: Policy, *, response: str, messages=None,
                    grade: int | None = None, lang: str | None = None, mode: str = "tutor") -> Verdict:
        user_text = last_user_message(messages)
        answer, user = await asyncio.to_thread(self.prepare, compiled, response, user_text)
        ctx = self._context(compiled, answer, user, grade, lang)
        verdict = evaluate(ctx, compiled.curriculum, compiled.checks, policy, mode)
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
        markers = tuple(m for items in curriculum.help_markers.values() for m in items)
        return CheckContext(response=answer, user=user, lang=language, grade=grade, help_markers=markers)
