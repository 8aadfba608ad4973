"""Redaction of personal data from students' messages before anything leaves for the upstream model.

`Redactor(kinds, roster).redact(text)` replaces each e-mail address, phone number, national ID or student
number, street address and roster name with a placeholder the model can still work with ([EMAIL], [PHONE],
[ID], [ADDRESS], [NAME]). Which kinds are redacted is the policy's choice (`privacy.redact`). Detection runs
on folded text (full-width digits and ＠ count), and only the personal data is replaced, never the question.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ..text.normalize import normalize
from . import national_ids, patterns
from .roster import Roster

KINDS = ("email", "national_id", "phone", "address", "roster")     # also the priority when spans overlap
PLACEHOLDERS = {"email": "[EMAIL]", "national_id": "[ID]", "phone": "[PHONE]", "address": "[ADDRESS]",
                "roster": "[NAME]"}


@dataclass(frozen=True)
class Redacted:
    text: str
    counts: dict[str, int]


class Redactor:
    def __init__(self, kinds: Iterable[str] = KINDS, roster: Roster | None = None):
        self.kinds = frozenset(kinds)
        unknown = self.kinds - set(KINDS)
        if unknown:
            raise ValueError(f"unknown redaction kind(s): {', '.join(sorted(unknown))}; known: {', '.join(KINDS)}")
        self.roster = roster

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, kind) spans of personal data in `text`, in order."""
        folded = normalize(text, leet=False)
        found: list[tuple[int, int, str]] = []

        def add(kind: str, folded_spans) -> None:
            found.extend((*folded.span(s, e), kind) for s, e in folded_spans if e > s)

        if "email" in self.kinds:
            add("email", patterns.find_emails(folded.text))
        if "national_id" in self.kinds:
            add("national_id", national_ids.find_ids(folded.text))
        if "phone" in self.kinds:
            add("phone", patterns.find_phones(folded.text))
        if "address" in self.kinds:
            add("address", patterns.find_addresses(folded.text))
            found.extend((s, e, "address") for s, e in patterns.find_capitalised_addresses(text))
        if "roster" in self.kinds and self.roster is not None:
            found.extend((s, e, "roster") for s, e in self.roster.find(text))
        found.sort(key=lambda f: (f[0], -(f[1] - f[0]), KINDS.index(f[2])))
        merged: list[tuple[int, int, str]] = []
        for start, end, kind in found:
            if merged and start < merged[-1][1]:
                # overlapping finds become one span, so no fragment of either is left behind
                last = merged[-1]
                merged[-1] = (last[0], max(last[1], end), last[2])
            else:
                merged.append((start, end, kind))
        return merged

    def redact(self, text: str) -> Redacted:
        spans = self.spans(text)
        if not spans:
            return Redacted(text, {})
        out, at = [], 0
        for start, end, kind in spans:
            out.append(text[at:start])
            out.append(PLACEHOLDERS[kind])
            at = end
        out.append(text[at:])
        return Redacted("".join(out), dict(Counter(kind for _, _, kind in spans)))

    def redact_messages(self, messages: list[dict]) -> tuple[list[dict], dict[str, int]]:
        """Copies of the messages with every text redacted (string content and text parts alike)."""
        counts: Counter[str] = Counter()

        def clean(text: str) -> str:
            result = self.redact(text)
            counts.update(result.counts)
            return result.text

        out = []
        for message in messages:
            content = message.get("content")
            if isinstance(content, str):
                message = {**message, "content": clean(content)}
            elif isinstance(content, list):
                message = {**message, "content": [
                    {**part, "text": clean(part["text"])} if isinstance(part, dict) and isinstance(part.get("text"), str)
                    else part for part in content]}
            out.append(message)
        return out, dict(counts)
