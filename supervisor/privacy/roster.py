"""Names a school lists (its roster), found in a student's message after folding.

Folding for names goes further than for rules: NFKC, case folding, and then spaces, dots, hyphens, middle
dots and all combining marks are dropped, so `山田 太郎`, `山田太郎`, `ＹＡＭＡＤＡ Taro`/`Yamada-Taro`
and `Nguyen Van An`/`Nguyễn Văn An` each match their roster entry. Scripts without spaces (ja, zh, th, km)
match anywhere; Latin-script names only as whole words, so `An` in a roster never eats `Angela`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import ConfigError, Problem
from ..rules import schema
from ..text.normalize import normalize

ROSTER_FILE = schema.file_schema(
    "School roster (the names redacted from students' messages)", ["names"],
    {"names": {"type": "array", "items": {"type": "string", "minLength": 2},
               "description": "one entry per form of a name: '山田 太郎', 'Taro Yamada', 'たろう'"}},
)

_DROPPED = set(" \t\n\r.-·・‧'’_")


def _compact(text: str) -> tuple[str, list[int]]:
    """Folded text without spaces and marks, and the original index of each character kept."""
    folded = normalize(text, leet=False)
    chars: list[str] = []
    origin: list[int] = []
    for ch, index in zip(folded.text, folded.origin, strict=True):
        for c in unicodedata.normalize("NFD", ch):
            if c in _DROPPED or c.isspace() or unicodedata.category(c).startswith("M"):
                continue
            chars.append(c)
            origin.append(index)
    return "".join(chars), origin


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and ord(ch) < 0x0250


class Roster:
    def __init__(self, names: Iterable[str]):
        forms = {c for c in (_compact(n)[0] for n in names) if len(c) >= 2}
        self.size = len(forms)
        ordered = sorted(forms, key=len, reverse=True)      # the longest form wins: 山田太郎 before 山田
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        if self._pattern is None:
            return
        compact, origin = _compact(text)
        for m in self._pattern.finditer(compact):
            start = origin[m.start()]
            end = origin[m.end() - 1] + 1
            while end < len(text) and unicodedata.category(text[end]).startswith("M"):
                end += 1
            if _is_latin_letter(m.group()[0]) and start > 0 and _is_latin_letter(text[start - 1]):
                continue
            if _is_latin_letter(m.group()[-1]) and end < len(text) and _is_latin_letter(text[end]):
                continue
            yield start, end


def load_roster(path: Path) -> Roster:
    import jsonschema

    from ..rules.validate import schema_problems
    from ..rules.yaml_lines import load_yaml

    if not path.is_file():
        raise ConfigError(Problem(str(path), None, "roster file not found (the school's `roster:` in "
                                                    "schools.yaml names it, relative to the policies folder)"))
    data = load_yaml(path)
    problems = schema_problems(path, data, jsonschema.Draft202012Validator(ROSTER_FILE))
    if problems:
        raise ConfigError(problems)
    return Roster(data["names"])
