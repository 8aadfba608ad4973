"""Attack and benign case files (JSON Lines), read with errors that name the file, line and field.

Attack case (this project's format, see `data/attacks.jsonl`):
    id, country, lang, technique, category   what is attacked, how, and which harm the attacker wants
    messages                                 the conversation sent through the proxy (OpenAI chat format)
    target                                   the harmful behaviour in words, for people reading the report
    harm_markers                             phrases whose presence in an answer means the harm got through
    scripted_answer                          what a compromised model replies (served by the scripted upstream)
    grade, note                              optional

Benign case: the evaluation format of docs/eval-format.md; only cases whose `expected` is exactly ["pass"]
are used (the false-alarm rate is defined on those), the others are counted as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadRequest
from ..jsonl import read_objects
from ..rules.schema import CATEGORIES, CONTROL_CATEGORIES, LANGUAGES

TECHNIQUES = ("direct", "jailbreak", "role_play", "code_switching", "transliteration", "payload_splitting",
              "homoglyph", "zero_width", "supervisor_injection")
DATA = Path(__file__).parent / "data"
ATTACKS_FILE = DATA / "attacks.jsonl"
BENIGN_FILE = DATA / "benign.jsonl"


@dataclass(frozen=True)
class Case:
    id: str
    kind: str                      # "attack" | "benign"
    country: str
    lang: str
    category: str
    messages: list[dict]
    grade: int | None = None
    technique: str = "none"
    target: str = ""
    harm_markers: tuple[str, ...] = ()
    scripted_answer: str = ""      # attack: the compromised model's reply; benign: the case's `response`
    note: str = ""
    extra: dict = field(default_factory=dict)


def _messages(value, where: str) -> list[dict]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role") for m in value)):
        raise BadRequest(f"{where}: `messages` must be a non-empty list of {{role, content}} objects")
    if value[-1]["role"] != "user":
        raise BadRequest(f"{where}: the last message must be the student's (role `user`)")
    return value


def _common(item: dict, where: str, required: tuple[str, ...]) -> None:
    missing = [k for k in required if k not in item]
    if missing:
        raise BadRequest(f"{where}: missing field(s) {', '.join(missing)}")
    if not isinstance(item["country"], str) or len(item["country"]) != 2 or not item["country"].islower():
        raise BadRequest(f"{where}: `country` must be a lower-case ISO 3166-1 alpha-2 code such as `jp`")
    if item["lang"] not in LANGUAGES:
        raise BadRequest(f"{where}: `lang` {item['lang']!r} is not one of {', '.join(LANGUAGES)}")
    if item["category"] not in (*CATEGORIES, *CONTROL_CATEGORIES):
        raise BadRequest(f"{where}: `category` {item['category']!r} is not one of {', '.join((*CATEGORIES, *CONTROL_CATEGORIES))}")
    grade = item.get("grade")
    if grade is not None and (not isinstance(grade, int) or not 1 <= grade <= 12):
        raise BadRequest(f"{where}: `grade` must be a whole number from 1 to 12")


def read_attacks(path: Path) -> list[Case]:
    cases, seen = [], set()
    for number, item in read_objects(path):
        where = f"{path}:{number}"
        _common(item, where, ("id", "country", "lang", "technique", "category", "messages", "harm_markers",
                              "scripted_answer"))
        if item["id"] in seen:
            raise BadRequest(f"{where}: duplicate id {item['id']!r}")
        seen.add(item["id"])
        if item["technique"] not in TECHNIQUES:
            raise BadRequest(f"{where}: `technique` {item['technique']!r} is not one of {', '.join(TECHNIQUES)}")
        markers = item["harm_markers"]
        if not isinstance(markers, list) or not markers or not all(isinstance(m, str) and m.strip() for m in markers):
            raise BadRequest(f"{where}: `harm_markers` must be a non-empty list of phrases; they are how the report "
                             "decides that an answer carried the harm")
        cases.append(Case(id=item["id"], kind="attack", country=item["country"], lang=item["lang"],
                          category=item["category"], messages=_messages(item["messages"], where),
                          grade=item.get("grade"), technique=item["technique"], target=item.get("target", ""),
                          harm_markers=tuple(markers), scripted_answer=str(item["scripted_answer"]),
                          note=item.get("note", "")))
    if not cases:
        raise BadRequest(f"{path}: no attack cases in this file")
    return cases


def read_benign(path: Path) -> tuple[list[Case], int]:
    """Benign controls (expected exactly ["pass"]) and how many other cases were skipped."""
    cases, skipped, seen = [], 0, set()
    for number, item in read_objects(path):
        where = f"{path}:{number}"
        _common(item, where, ("id", "country", "lang", "response", "expected", "category"))
        if item["id"] in seen:
            raise BadRequest(f"{where}: duplicate id {item['id']!r}")
        seen.add(item["id"])
        if item["expected"] != ["pass"]:
            skipped += 1
            continue
        messages = item.get("messages") or [{"role": "user", "content": f"Please explain ({item['id']})."}]
        cases.append(Case(id=item["id"], kind="benign", country=item["country"], lang=item["lang"],
                          category=item["category"], messages=_messages(messages, where), grade=item.get("grade"),
                          scripted_answer=str(item["response"]), note=item.get("note", "")))
    return cases, skipped
