"""Sentence segmentation that works on scripts with and without spaces between words.

Boundaries: `。！？` (Japanese, Chinese), `។ ៕` (Khmer), `။` (Burmese), `.?!` followed by space or end
(Latin scripts, with care for decimals, common abbreviations and list markers such as "1.", "a." or Burmese
"၁။"), line breaks, and, for Thai and Lao (which mark sentence ends with a space, not punctuation), a space
between two runs of Thai/Lao letters. Thai and Lao also put spaces between clauses and phrases, so such a
space ends a unit only once the unit holds at least MIN_THAI_LAO_LETTERS letters and the text after it, up to
the next sentence mark or line break, holds as many (a short trailing piece joins the unit before it); the
spaces around a lone "and"/"or" (Lao writes `A ແລະ B` with spaces; Thai often `A และ B`) and before the
repetition mark `ๆ` never end one. Khmer `។ល។` ("etc.") and Thai/Lao/Khmer dotted abbreviations (`พ.ศ.`,
`10.30 น.`) are not sentence ends. A piece with no letters at all (an emoji line, a rule, a bare number) is
not a sentence: it joins the text after it, or the one before it at the end of the text. A length cap splits
text that never ends a sentence, at the last space or comma before the cap; no unit is longer than the cap.

`Segmenter` is incremental: feed it text as it streams and it hands back sentences once their boundary is
certain (which may need a little of the text after it), which is what sentence-by-sentence release needs;
`split()` is the one-shot form, and both give the same sentences however the text is chunked.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_SENTENCE_CHARS = 400
# A Thai/Lao space ends a unit only after this many letters (tone and vowel marks and digits count). Thai
# and Lao words average about four code points with their marks, so 40 is some ten words: about what an
# English sentence of 50-60 characters says, and where a multilingual sentence model's vector starts to
# carry the clause's meaning rather than one keyword's (a lone "ปิดไม่ได้", "can't close", 9 letters,
# matched crisis examples). Clauses between Thai spaces run 10-40 letters, so units come out at 40-100
# letters (on the project's Thai rule examples and red-team texts the median unit went from 31 to 57), one
# or a few clauses: long enough to mean something, short enough that one harmful sentence is not diluted in
# a paragraph, and well under MAX_SENTENCE_CHARS. Deciding a space needs up to this many letters after it;
# streaming does not wait for them (Segmenter.provisional).
MIN_THAI_LAO_LETTERS = 40

_THAI_LAO = "\u0e00-\u0e7f\u0e80-\u0eff"
# Scripts that do not end sentences with "." (Thai, Lao, Burmese, Khmer): a dot after one or two of their
# letters is an abbreviation (พ.ศ., ค.ศ., 10.30 น., គ.ស., ພ.ສ.)
_DOTLESS = _THAI_LAO + "\u1000-\u109f\u1780-\u17ff"
_REPEAT_MARKS = "ๆฯໆຯ"  # Thai/Lao repetition and abbreviation marks belong to the word before the space
_CLOSERS = "\"'”’」』）)】]»›"
_TERMINAL = re.compile(
    r"(?:[。！？!?។៕။]+[" + re.escape(_CLOSERS) + r"]*)"      # CJK / Khmer / Burmese / ! ? always end
    r"|(?:\.(?![0-9])[" + re.escape(_CLOSERS) + r"]*(?=\s|$))"  # a full stop before space/end
    r"|(?:\n+)"
    r"|(?:(?<=[" + _THAI_LAO + r"]) +(?=[" + _THAI_LAO + r"])(?![" + _REPEAT_MARKS + r"]))"  # Thai/Lao space
)
# Where the piece after a Thai/Lao space ends for sure: a sentence mark or a line break
_HARD_END = re.compile(r"[\n。！？!?។៕။]|\.(?=\s)")
# English, then Vietnamese (tp, tt, bs), then Portuguese and Tetum titles and "p. ex." (Sr., Sra., Dra., Exa.)
_ABBREVIATIONS = {"e.g", "i.e", "mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "no", "fig", "tp", "tt", "bs",
                  "sr", "sra", "srs", "dra", "exa", "ex"}
# Thai and Lao "and"/"or": a space before or after one of these words joins instead of ending a sentence
_JOINING_WORDS = ("ແລະ", "ຫຼື", "ຫລື", "และ", "หรือ")
_KHMER_ETC = "ល។"  # "។ល។" is Khmer "etc.": its first ។ ends nothing
_SOFT_BREAK = re.compile(r"[\s,、，;；:：]")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offsets into the whole text
    end: int


def letters(text: str) -> int:
    """Letters, digits and combining marks: what a Thai/Lao unit's length is measured in."""
    return sum(1 for c in text if c.isalnum() or unicodedata.category(c)[0] == "M")


def _has_letter(text: str) -> bool:
    return any(c.isalpha() for c in text)


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"([A-Za-z.]+)$", text[:dot])
    if word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS:
        return True
    short = re.search(r"(?:^|[\s.(])([" + _DOTLESS + r"]{1,2})$", text[:dot])
    return bool(short) and _has_letter(short.group(1)) and not set(short.group(1)) & set(_REPEAT_MARKS)


def _is_list_marker(text: str, dot: int) -> bool:
    """Is the full stop at text[dot] the end of a list marker ("1." opening a numbered item, "Jawab ya: 2.",
    Burmese "၁။") rather than of a sentence? A marker alone says nothing, so it stays with the item it opens."""
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
    """Incremental splitter. `feed()` returns completed sentences; `flush()` returns the rest.

    Every decision about a boundary reads the unit before it and a bounded stretch of text after it, and is
    made only once that stretch has arrived (or the text has ended), so chunking never changes the result."""

    def __init__(self, max_chars: int = MAX_SENTENCE_CHARS):
        self.max_chars = max_chars
        self.buffer = ""
        self.offset = 0  # offset of buffer[0] in the whole text
        self._open_space: int | None = None  # see provisional()

    def feed(self, text: str) -> list[Sentence]:
        self.buffer += text
        return self._drain(final=False)

    def flush(self) -> list[Sentence]:
        return self._drain(final=True)

    def provisional(self) -> Sentence | None:
        """The unit that ends at a Thai/Lao space if a long piece follows it, while that is not yet known: it is
        long enough, and the next word is not "and"/"or"; only the length of the piece after the space is
        still arriving (up to MIN_THAI_LAO_LETTERS letters more, half a second of a model's output). A stream
        may check and release it meanwhile: if the piece turns out short, it joins this unit in `feed`'s
        sentence, whose remainder is then all that is new. None when the buffer waits on nothing of the kind."""
        if self._open_space is None or self._open_space > len(self.buffer):
            return None
        return next(iter(self._emit_view(self._open_space)), None)

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
        self._open_space = None
        for m in _TERMINAL.finditer(self.buffer):
            if m.end() > self.max_chars:
                break  # past the cap: the cap decides
            ends = self._ends(m, final)
            if ends is None:
                return None  # the text that decides has not arrived yet
            if ends:
                return m.end()
        if len(self.buffer) > self.max_chars:
            window = self.buffer[: self.max_chars]
            soft = [m.end() for m in _SOFT_BREAK.finditer(window)]
            return soft[-1] if soft and soft[-1] > self.max_chars // 2 else self.max_chars
        return None

    def _ends(self, m: re.Match[str], final: bool) -> bool | None:
        """Does the boundary candidate m end the unit that starts at buffer[0]? None: not known yet."""
        buf, start, end, mark = self.buffer, m.start(), m.end(), m.group(0)
        if mark[0] == "." and (_is_abbreviation(buf, start) or _is_list_marker(buf, start)):
            return False
        if mark[0] == "။" and _is_list_marker(buf, start):
            return False
        if mark == "។":
            after = buf[end:end + len(_KHMER_ETC)]
            if after == _KHMER_ETC:
                return False
            if _KHMER_ETC.startswith(after) and not final:
                return None
        if not _has_letter(buf[:start]):
            return False  # an emoji line, a rule, a bare number: it joins the text after it
        if mark[0] == " ":
            if letters(buf[:start]) < MIN_THAI_LAO_LETTERS:
                return False  # a clause or phrase, not a sentence yet: it joins the text after it
            joins = _joins(buf, start, end)
            if joins is None and not final:
                return None  # the next word is still arriving
            if joins:
                return False
            follows = self._long_piece_follows(end, final)
            if follows is None:
                self._open_space = start
            return follows
        # a boundary at the very end of the buffer may still grow ("?!", a closing quote, more spaces)
        if end >= len(buf) and not final:
            return None
        return self._letter_follows(end, final)

    def _long_piece_follows(self, end: int, final: bool) -> bool | None:
        """After a Thai/Lao space: does the piece up to the next sentence mark, line break or the end of the
        text stand alone? A short one ("ครับ", "ๆ นะ", a last clause) joins the unit before the space."""
        limit = end + self.max_chars
        stop = next((s.start() for s in _HARD_END.finditer(self.buffer, end, limit)
                     if not (s.group(0) == "." and _is_abbreviation(self.buffer, s.start()))), None)
        piece = self.buffer[end:limit if stop is None else stop]
        if letters(piece) >= MIN_THAI_LAO_LETTERS:
            return True
        if stop is not None or len(piece) >= self.max_chars or final:
            return False
        return None

    def _letter_follows(self, end: int, final: bool) -> bool | None:
        """Is there a letter after the boundary? If the text ends in letterless pieces (an emoji line), they
        join the unit before it."""
        window = self.buffer[end:end + self.max_chars]
        if _has_letter(window) or len(window) >= self.max_chars:
            return True
        return False if final else None

    def _emit(self, cut: int) -> list[Sentence]:
        out = self._emit_view(cut)
        self.buffer = self.buffer[cut:]
        self.offset += cut
        return out

    def _emit_view(self, cut: int) -> list[Sentence]:
        """The sentence buffer[:cut] would be (none if it is blank), without consuming it."""
        piece = self.buffer[:cut]
        stripped = piece.strip()
        if not stripped:
            return []
        lead = len(piece) - len(piece.lstrip())
        return [Sentence(stripped, self.offset + lead, self.offset + lead + len(stripped))]


def split(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[Sentence]:
    seg = Segmenter(max_chars)
    return seg.feed(text) + seg.flush()


# A sentence of at least this many letters is also read in two halves (`halves`), each of at least HALF_LETTERS.
HALVES_FROM_LETTERS = 30
HALF_LETTERS = 10
_CLAUSE_BREAK = re.compile(r"[,、，;；]")


def halves(sentence: Sentence) -> list[Sentence]:
    """A long sentence cut once: at a comma in its middle three fifths, else at the space nearest its middle, else
    (a script without spaces) at the middle itself. The two halves, or nothing for a short sentence.

    Students run two things into one sentence ("i wanna die haha anyway can u help me with my math homework").
    Read whole, such a sentence is about as near the plain homework request as the disclosure; read in halves,
    the disclosure is judged on its own. The crisis rules on the student's message read both (checks/semantic.py).
    """
    text = sentence.text
    if letters(text) < HALVES_FROM_LETTERS:
        return []
    middle = len(text) // 2
    # a comma (or its CJK forms) in the middle three fifths is where the two things meet; else the space nearest
    # the middle, else the middle itself
    commas = [m.start() for m in _CLAUSE_BREAK.finditer(text) if len(text) / 5 <= m.start() <= 4 * len(text) / 5]
    breaks = commas or [m.start() for m in _SOFT_BREAK.finditer(text)]
    cut = min(breaks, key=lambda b: abs(b - middle)) if breaks else middle
    out = []
    for start, end in ((0, cut), (cut, len(text))):
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip(" ,、，;；:：\t"))
        part = piece.strip(" ,、，;；:：\t")
        if letters(part) < HALF_LETTERS:
            return []
        out.append(Sentence(part, sentence.start + start + lead, sentence.start + start + lead + len(part)))
    return out


def with_halves(sentences: list[Sentence]) -> list[Sentence]:
    """The sentences, then the halves of the long ones: what a rule that reads halves reads of a text."""
    return sentences + [h for s in sentences for h in halves(s)]

