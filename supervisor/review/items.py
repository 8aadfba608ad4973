"""Exchange records as the review pages show them: queue rows, detail views, highlighted text, rules explained.

Everything here returns plain data (dicts, lists, strings) that is both the JSON twin and the template's
input. Highlighting splits the text into segments in Python; the template escapes each segment, so text from
the model or the student can never become markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..rules.rulebook import Rulebook
from ..store.reviews import status_of
from ..supervision import content_text, last_user_message
from ..text.segment import split


@dataclass(frozen=True)
class Segment:
    text: str
    rules: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"text": self.text, "highlight": bool(self.rules), "rules": list(self.rules)}


def segments(text: str, marks: list[tuple[int, int, str]]) -> list[Segment]:
    """Cut `text` at every mark boundary; each piece knows which rules cover it. Overlaps merge."""
    if not text:
        return []
    valid = [(max(0, a), min(len(text), b), r) for a, b, r in marks if a < b and a < len(text)]
    cuts = sorted({0, len(text), *(a for a, _, _ in valid), *(b for _, b, _ in valid)})
    out: list[Segment] = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        rules = tuple(dict.fromkeys(r for a, b, r in valid if a <= start and end <= b))
        if out and out[-1].rules == rules:
            out[-1] = Segment(out[-1].text + text[start:end], rules)
        else:
            out.append(Segment(text[start:end], rules))
    return out


def _marks(findings: list[dict], target: str) -> list[tuple[int, int, str]]:
    return [(f["span"][0], f["span"][1], f["rule"]) for f in findings
            if f.get("target", "response") == target and len(f.get("span") or ()) == 2]


def _decoded(row: dict) -> dict:
    for column in ("rules", "findings", "messages"):
        if isinstance(row.get(column), str):
            row[column] = json.loads(row[column])
    return row


def queue_row(row: dict) -> dict:
    row = _decoded(row)
    findings = row["findings"]
    return {
        "request_id": row["request_id"],
        "created_at": row["created_at"],
        "school_id": row["school_id"],
        "student": row["user_pseudonym"],
        "grade": row["grade"],
        "lang": row["lang"],
        "decision": row["decision"],
        "rules": row["rules"],
        "categories": list(dict.fromkeys(f["category"] for f in findings)),
        "excerpt": findings[0]["sentence"] if findings else "",
        "status": status_of(row.get("review_action")),
        "reviewed_by": row.get("reviewed_by"),
        "url": f"/review/items/{row['request_id']}",
    }


def rule_info(rulebook: Rulebook, country: str, rule_id: str) -> dict:
    """The rule in plain words with its source document, from the curriculum now in force."""
    curriculum = rulebook.for_country(country).curriculum
    rule = curriculum.rule(rule_id)
    if rule is None:
        return {"id": rule_id, "current": False}
    doc = curriculum.documents.get(rule.source_document)
    url = doc.url if doc and doc.url and doc.url.startswith(("https://", "http://")) else None
    return {
        "id": rule.id, "current": True, "category": rule.category, "severity": rule.severity,
        "description": rule.description, "target": rule.target, "file": rule.file, "line": rule.line,
        "source": {
            "document": rule.source_document, "clause": rule.source_clause,
            "title": doc.title if doc else None, "title_en": doc.title_en if doc else None,
            "issuer": doc.issuer if doc else None, "edition": doc.edition if doc else None, "url": url,
        },
    }


def rule_choices(rulebook: Rulebook, country: str) -> list[dict]:
    curriculum = rulebook.for_country(country).curriculum
    return sorted(({"id": r.id, "category": r.category} for r in curriculum.rules),
                  key=lambda r: (r["category"], r["id"]))


def detail(row: dict, actions: list[dict], rulebook: Rulebook) -> dict:
    row = _decoded(row)
    findings = row["findings"]
    original = row["original_text"] or ""
    student_text = last_user_message(row["messages"])
    conversation = [{"role": m.get("role"), "content": content_text(m.get("content"))} for m in row["messages"]]
    # the student's last message is shown with its own highlights (rules that read the student's words)
    last_user = max((i for i, m in enumerate(conversation) if m["role"] == "user"), default=None)
    for i, message in enumerate(conversation):
        marks = _marks(findings, "user") if i == last_user else []
        message["segments"] = [s.to_dict() for s in segments(message["content"], marks)]
    delivered = row["delivered_text"]
    latest = next((a["action"] for a in reversed(actions) if a["action"] != "note"), None)
    return {
        "item": {k: row[k] for k in ("request_id", "created_at", "school_id", "grade", "lang", "decision", "rules",
                                     "curriculum", "country", "model", "mode", "stream")}
        | {"student": row["user_pseudonym"], "status": status_of(latest)},
        "conversation": conversation,
        "original": {"text": original, "segments": [s.to_dict() for s in segments(original, _marks(findings, "response"))]},
        "delivered": {"text": delivered, "same_as_original": delivered == original},
        "findings": findings,
        "rules": [rule_info(rulebook, row["country"], r) for r in row["rules"]],
        "actions": actions,
        "sentences": {
            "response": [s.text for s in split(original)],
            "user": [s.text for s in split(student_text)],
        },
        "rule_choices": rule_choices(rulebook, row["country"]),
    }
