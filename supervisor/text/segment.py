"""Sentence segmentation that works on scripts with and without spaces between words.

Boundaries: `。！？` (Japanese, Chinese), `។ ៕` (Khmer), `။` (Burmese), `.?!` followed by space or end
(Latin scripts, with care for decimals, common abbreviations and list markers such as "1." or "a."), line
breaks, and, for Thai and Lao (which mark sentence ends with a space, not punctuation), a space between two runs
of Thai/Lao letters, except the spaces around a lone "and"/"or" (Lao writes `A ແລະ B` with spaces; Thai often
`A และ B`), which join. A length cap splits text that never ends a sentence, at the last space or comma before
the cap.

`Segmenter` is incremental: feed it text as it streams and it hands back sentences once their boundary is
certain, which is what sentence-by-sentence release needs; `split()` is the one-shot form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SENTENCE_CHARS = 400

_THAI_LAO = "\u0e00-\u0e7f\u0e80-\u0eff"
_CLOSERS = "\"'”’」』）)】]"
_TERMINAL = re.compile(
    r"(?:[。！？!?។៕။]+[" + re.escape(_CLOSERS) + r"]*)"      # CJK / Khmer / Burmese / ! ? always end
    r"|(?:\.(?![0-9])[" + re.escape(_CLOSERS) + r"]*(?=\s|$))"  # a full stop before space/end
    r"|(?:\n+)"
    r"|(?:(?<=[" + _THAI_LAO + r"]) +(?=[" + _THAI_LAO + r"]))"  # Thai/Lao sentence space
)
_ABBREVIATIONS = {"e.g", "i.e", "mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "no", "fig", "tp", "tt", "bs"}
# Thai and Lao "and"/"or": a space before or after one of these words joins instead of ending a sentence
_JOINING_WORDS = ("ແລະ", "ຫຼື", "ຫລື", "และ", "หรือ")
_SOFT_BREAK = re.compile(r"[\s,、，;；:：]")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offsets into the whole text
    end: int


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"([A-Za-z.]+)$", text[:dot])
    return bool(word) and word.group(1).lower().rstrip(".") in _ABBREVIATIONS


def _is_list_marker(text: str, dot: int) -> bool:
    """Is the full stop at text[dot] the end of a list marker ("1." opening a numbered item, "Jawab ya: 2.")
    rather than of a sentence? A marker alone says nothing, so it stays with the item it opens."""
    word = re.search(r"(?:\d{1,3}|[A-Za-z])$", text[:dot])
    if not word:
        return False
    before = text[: word.start()].rstrip(" \t")
    return not before or before.endswith((":", "：", "\n"))


def _joins(text: str, start: int, end: int) -> bool | None:
    """Is the Thai/Lao space text[start:end] one before or after "and"/"or"? None while the text after the space
    could still grow into one."""
    before = text[:start].rsplit(" ", 1)[-1]
    if before in _JOINING_WORDS:
        return True
    after = text[end:]
    for word in _JOINING_WORDS:
        if after.startswith(word):  # `A และB` as well as `A และ B`
            return True
        if word.startswith(after):
            return None
    return False


class Segmenter:
    """Incremental splitter. `feed()` returns completed sentences; `flush()` returns the rest."""

    def __init__(self, max_chars: int = MAX_SENTENCE_CHARS):
        self.max_chars = max_chars
        self.buffer = ""
        self.offset = 0  # offset of buffer[0] in the whole text

    def feed(self, text: str) -> list[Sentence]:
        self.buffer += text
        return self._drain(final=False)

    def flush(self) -> list[Sentence]:
        return self._drain(final=True)

    def _drain(self, final: bool) -> list[Sentence]:
        out: list[Sentence] = []
        while True:
            cut = self._next_cut(final)
            if cut is None:
                break
            out.extend(self._emit(cut))
        if final and self.buffer:
            out.extend(self._emit(len(self.buffer)))
        return out

    def _next_cut(self, final: bool) -> int | None:
        for m in _TERMINAL.finditer(self.buffer):
            end = m.end()
            if m.group(0).startswith(".") and (_is_abbreviation(self.buffer, m.start())
                                               or _is_list_marker(self.buffer, m.start())):
                continue
            if m.group(0).startswith(" "):
                joins = _joins(self.buffer, m.start(), end)
                if joins is None and not final:
                    return None  # the next word is still arriving
                if joins:
                    continue
            # a boundary at the very end of the buffer may still grow ("?!", a closing quote, more spaces)
            if end >= len(self.buffer) and not final:
                return None
            return end
        if len(self.buffer) > self.max_chars:
            window = self.buffer[: self.max_chars]
            soft = [m.end() for m in _SOFT_BREAK.finditer(window)]
            return soft[-1] if soft and soft[-1] > self.max_chars // 2 else self.max_chars
        return None

    def _emit(self, cut: int) -> list[Sentence]:
        piece, self.buffer = self.buffer[:cut], self.buffer[cut:]
        start = self.offset
        self.offset += cut
        stripped = piece.strip()
        if not stripped:
            return []
        lead = len(piece) - len(piece.lstrip())
        return [Sentence(stripped, start + lead, start + lead + len(stripped))]


def split(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[Sentence]:
    seg = Segmenter(max_chars)
    return seg.feed(text) + seg.flush()
