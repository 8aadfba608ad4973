"""Text folding for matching, with a map back to the original so findings can point at the real span.

Folding: NFKC (full-width, compatibility forms), case folding, removal of invisible characters (zero-width
spaces and joiners, soft hyphens, bidi marks: a common way to split a word so filters miss it), homoglyph
folding (Cyrillic and Greek look-alikes to Latin), and leetspeak inside words that mix letters and digits
(`k1ll`, `d1e`), never in plain numbers. Works per grapheme cluster, so combining marks (Vietnamese, Thai,
Khmer vowels) stay with their base letter and spans never cut a character in half.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2061\u2062\u2063\u2064"
)

# Cyrillic and Greek letters that render like Latin ones (after case folding).
HOMOGLYPHS = {
    "а": "a", "в": "b", "с": "c", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԝ": "w",
    "ү": "y", "ɡ": "g", "ı": "i",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w",
}

LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}

_WORD_WITH_DIGITS = re.compile(r"[0-9a-z@$]*[a-z][0-9a-z@$]*")


@dataclass(frozen=True)
class Folded:
    """Folded text and, for each folded character, the index of the original character it came from."""

    text: str
    origin: tuple[int, ...]
    original: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span in folded text back to the original text."""
        if not self.origin or start >= len(self.origin):
            return (len(self.original), len(self.original))
        first = self.origin[start]
        last = self.origin[min(end, len(self.origin)) - 1]
        # extend to the end of the original cluster the last folded char came from
        stop = last + 1
        while stop < len(self.original) and unicodedata.combining(self.original[stop]):
            stop += 1
        return (first, stop)


def _clusters(text: str):
    """Yield (index, cluster) where a cluster is a base character with its combining marks."""
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        yield i, text[i:j]
        i = j


def normalize(text: str, *, leet: bool = True) -> Folded:
    chars: list[str] = []
    origin: list[int] = []
    for index, cluster in _clusters(text):
        if cluster[0] in INVISIBLE:
            continue
        folded = unicodedata.normalize("NFKC", cluster).casefold()
        for ch in folded:
            if ch in INVISIBLE:
                continue
            chars.append(HOMOGLYPHS.get(ch, ch))
            origin.append(index)
    out = "".join(chars)
    if leet:
        out = _fold_leet(out)
    return Folded(out, tuple(origin), text)


def _fold_leet(text: str) -> str:
    """Replace leet digits/symbols only inside tokens that also contain letters; lengths are unchanged."""
    def fix(m: re.Match[str]) -> str:
        token = m.group(0)
        if not any(c in LEET for c in token) or token.isalpha():
            return token
        return "".join(LEET.get(c, c) for c in token)
    return _WORD_WITH_DIGITS.sub(fix, text)


def fold(text: str) -> str:
    """Folded text only (for comparisons and cache keys)."""
    return normalize(text).text


# A phrase may hold "…" (or "..."): its parts must then appear in that order, at most this many characters apart.
# Thai and Lao put the negation after the verb's object ("ผมช่วยหาร้านแบบนั้นไม่ได้": I can't help find such a
# shop), so a refusal is "ช่วย…ไม่ได้" with the object in between; one sentence's object fits in this gap.
PHRASE_GAP = 50


def holds_any(folded_text: str, phrases: tuple[str, ...]) -> bool:
    """Whether a folded text contains one of the phrases, folded the same way (once per list of phrases)."""
    plain, gapped = _folded(phrases)
    return any(phrase in folded_text for phrase in plain) or (
        gapped is not None and gapped.search(folded_text) is not None)


@functools.lru_cache(maxsize=64)
def _folded(phrases: tuple[str, ...]) -> tuple[tuple[str, ...], re.Pattern[str] | None]:
    """The phrases folded: the plain ones, and one pattern for all those with gaps (folding turns "…" into "...")."""
    folded = [fold(phrase) for phrase in phrases]
    plain = tuple(p for p in folded if "..." not in p)
    gapped = ["(?:" + f".{{0,{PHRASE_GAP}}}?".join(re.escape(part.strip()) for part in p.split("...") if part.strip())
              + ")" for p in folded if "..." in p]
    return plain, (re.compile("|".join(gapped), re.DOTALL) if gapped else None)
