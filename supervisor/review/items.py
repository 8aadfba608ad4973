"""Exchange records as the review pages show them: queue rows, detail views, highlighted text, rules explained.

Everything here returns plain data (dicts, lists, strings) that is both the JSON twin and the template's
input. Highlighting splits the text into segments in Python; the template escapes each segment, so text from
the model or the student can never become markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..rules.category_names import category_name
from ..rules.model import Curriculum, Rule
from ..rules.rulebook import Rulebook
from ..store.reviews import URGENT_CATEGORIES, VERDICT_ACTIONS, status_of
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


def queue_row(row: dict, lang: str = "en") -> dict:
    """One queue line. `urgent`: a finding in URGENT_CATEGORIES (a student in crisis); its sentence is then the
    excerpt shown, whatever else fired."""
    row = _decoded(row)
    findings = row["findings"]
    categories = list(dict.fromkeys(f["category"] for f in findings))
    urgent = [f for f in findings if f["category"] in URGENT_CATEGORIES]
    shown = (urgent or findings)[:1]
    return {
        "request_id": row["request_id"],
        "created_at": row["created_at"],
        "school_id": row["school_id"],
        "student": row["user_pseudonym"],
        "grade": row["grade"],
        "lang": row["lang"],
        "decision": row["decision"],
        "rules": row["rules"],
        "categories": categories,
        "category_names": [category_name(c, lang) for c in categories],
        "urgent": bool(urgent),
        "excerpt": shown[0]["sentence"] if shown else "",
        "status": status_of(row.get("review_action")),
        "reviewed_by": row.get("reviewed_by"),
        "url": f"/review/items/{row['request_id']}",
    }


def rule_body(curriculum: Curriculum, rule: Rule) -> dict:
    """A rule as a reviewer reads it, in every language it has; what store/rule_texts.py keeps per version."""
    doc = curriculum.documents.get(rule.source_document)
    url = doc.url if doc and doc.url and doc.url.startswith(("https://", "http://")) else None
    return {
        "id": rule.id, "category": rule.category, "severity": rule.severity, "descriptions": dict(rule.descriptions),
        "target": rule.target, "file": rule.file, "line": rule.line,
        "source": {
            "document": rule.source_document, "clause": rule.source_clause,
            "title": doc.title if doc else None, "title_en": doc.title_en if doc else None,
            "issuer": doc.issuer if doc else None, "edition": doc.edition if doc else None, "url": url,
        },
    }


def rulebook_texts(rulebook: Rulebook) -> dict[str, dict[str, dict]]:
    """Every curriculum's label -> its rules' bodies, to keep under that version (store.keep_rule_texts)."""
    return {c.curriculum.label: {r.id: rule_body(c.curriculum, r) for r in c.curriculum.rules}
            for c in rulebook.compiled.values()}


def rule_info(rule_id: str, judged_by: str, kept: dict | None, rulebook: Rulebook, country: str,
              lang: str) -> dict:
    """The rule as the curriculum version that judged the exchange (`judged_by`, country@version) stated it,
    in the reader's language (else English). `kept` is that version's text from the store; without it (a
    record older than the store's copy) today's text is shown and `as_judged` says so."""
    curriculum = rulebook.for_country(country).curriculum
    rule = curriculum.rule(rule_id)
    today = rule_body(curriculum, rule) if rule else None
    body = kept or today
    if body is None:
        return {"id": rule_id, "current": False, "known": False, "as_judged": False, "version": judged_by}
    descriptions = body["descriptions"]
    shown = lang if lang in descriptions else "en"
    return {
        "id": rule_id, "known": True, "current": rule is not None, "version": judged_by,
        "as_judged": kept is not None or curriculum.label == judged_by,
        "changed_since": bool(kept and today and (kept["descriptions"], kept["severity"], kept["category"])
                              != (today["descriptions"], today["severity"], today["category"])),
        "category": body["category"], "category_name": category_name(body["category"], lang),
        "severity": body["severity"], "description": descriptions.get(shown, ""), "description_lang": shown,
        "target": body["target"], "file": body["file"], "line": body["line"], "source": body["source"],
    }


def rule_choices(rulebook: Rulebook, country: str, lang: str = "en") -> list[dict]:
    curriculum = rulebook.for_country(country).curriculum
    return sorted(({"id": r.id, "category": r.category, "category_name": category_name(r.category, lang)}
                   for r in curriculum.rules), key=lambda r: (r["category"], r["id"]))


def detail(row: dict, actions: list[dict], rulebook: Rulebook, kept: dict[str, dict | None],
           lang: str = "en") -> dict:
    """One exchange for its page. `kept`: rule id -> the text of that rule in the version that judged it."""
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
    latest = next((a["action"] for a in reversed(actions) if a["action"] in VERDICT_ACTIONS and not a["undone_by"]),
                  None)
    return {
        "item": {k: row[k] for k in ("request_id", "created_at", "school_id", "grade", "lang", "decision", "rules",
                                     "curriculum", "country", "model", "mode", "stream")}
        | {"student": row["user_pseudonym"], "status": status_of(latest),
           "urgent": any(f["category"] in URGENT_CATEGORIES for f in findings),
           # what the false-alarm form names by default: the rule behind the first highlighted sentence
           "highlighted_rule": next((f["rule"] for f in findings if len(f.get("span") or ()) == 2),
                                    row["rules"][0] if row["rules"] else None),
           "critical_rules": sorted({f["rule"] for f in findings if f.get("severity") == "critical"})},
        "conversation": conversation,
        "original": {"text": original, "segments": [s.to_dict() for s in segments(original, _marks(findings, "response"))]},
        "delivered": {"text": delivered, "same_as_original": delivered == original},
        "findings": findings,
        "rules": [rule_info(r, row["curriculum"], kept.get(r), rulebook, row["country"], lang) for r in row["rules"]],
        "actions": actions,
        "sentences": {
            "response": [s.text for s in split(original)],
            "user": [s.text for s in split(student_text)],
        },
        "rule_choices": rule_choices(rulebook, row["country"], lang),
    }
