"""Schools and action policies, from `policies/*.yaml`.

`policies/policies.yaml` names action policies: which action each severity gets, per-category overrides, per
mode (`tutor`, `open`, `exam`) adjustments, regeneration attempts, and which categories alert the school's
safeguarding contacts. `policies/schools.yaml` lists schools: country, grade band, mode, policy, upstream and
safeguarding contacts (webhook, e-mail). Both are validated like curricula (file:line errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import jsonschema

from .errors import ConfigError, Problem
from .gate import ExamWindow, parse_window
from .privacy.redact import KINDS as REDACTION_KINDS
from .privacy.roster import Roster, load_roster
from .rules import schema
from .rules.model import Rule
from .rules.validate import schema_problems
from .rules.yaml_lines import line_of, load_yaml

ACTION_RANK = {"pass": 0, "flag": 1, "rewrite": 2, "block": 3}
MODES = ("tutor", "open", "exam")
STORE_MODES = ("full", "redacted", "hashes")

_ACTIONS = {"type": "object", "additionalProperties": False,
            "properties": {s: {"enum": list(schema.ACTIONS)} for s in schema.SEVERITIES}}
_CATEGORY_ACTIONS = {"type": "object", "propertyNames": {"enum": list(schema.CATEGORIES)},
                     "additionalProperties": {"enum": list(schema.ACTIONS)}}
_ADJUST = {"type": "object", "additionalProperties": False,
           "properties": {"actions": _ACTIONS, "categories": _CATEGORY_ACTIONS}}

PRIVACY = {
    "type": "object", "additionalProperties": False,
    "description": "what leaves for the upstream and what is kept",
    "properties": {
        "redact": {"type": "array", "uniqueItems": True, "items": {"enum": list(REDACTION_KINDS)},
                   "description": "personal data replaced by placeholders before the upstream (default: all)"},
        "store": {"enum": list(STORE_MODES), "description": "full text, redacted text, or hashes only"},
        "ai_label": {"type": "boolean", "description": "append a visible 'AI-generated' line to answers"},
    },
}
RETENTION = {
    "type": "object", "additionalProperties": False, "required": ["days"],
    "properties": {
        "days": {"type": "integer", "minimum": 1, "description": "records older than this are purged"},
        "minimum_days": {"type": "integer", "minimum": 0,
                         "description": "a legal floor: `days` below it is an error and no purge goes below it"},
    },
}

EXAM_WINDOW = {
    "type": "object", "additionalProperties": False, "required": ["start", "end"],
    "description": "answers are switched off from start to end (date-times with a time zone)",
    "properties": {
        "start": {}, "end": {},     # YAML reads unquoted timestamps as dates: checked by gate.parse_window
        "classes": {"type": "array", "items": {"type": ["string", "integer"]},
                    "description": "only these classes (X-Supervisor-Class / metadata.class); default: all"},
        "note": {"type": "string"},
    },
}

_SAFEGUARDING = {
    "type": "object",
    "additionalProperties": False,
    "description": "Who is alerted, within seconds, when a finding falls in the policy's alert_categories.",
    "properties": {
        "webhook": {
            "type": "object", "additionalProperties": False, "required": ["url"],
            "properties": {
                "url": {"type": "string", "pattern": r"^https?://\S+$"},
                "secret_env": {"type": "string", "pattern": r"^[A-Z_][A-Z0-9_]*$",
                               "description": "Environment variable holding the HMAC-SHA256 signing key."},
            },
        },
        "emails": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+$"}},
    },
}

POLICIES_FILE = schema.file_schema(
    "Action policies (policies/policies.yaml)", ["policies"],
    {
        "policies": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["actions"],
                "properties": {
                    "description": {"type": "string"},
                    "actions": {**_ACTIONS, "required": list(schema.SEVERITIES)},
                    "categories": _CATEGORY_ACTIONS,
                    "modes": {"type": "object", "propertyNames": {"enum": list(MODES)},
                              "additionalProperties": _ADJUST},
                    "regenerate_attempts": {"type": "integer", "minimum": 0, "maximum": 5},
                    "hold": {"enum": ["sentence", "full"],
                             "description": "Streaming: `full` holds every answer whole until it is checked."},
                    "hold_full_categories": {"type": "array", "items": {"enum": list(schema.CATEGORIES)},
                                             "description": "Streaming: categories whose answers are held "
                                                            "whole (see supervisor/hold.py for when)."},
                    "hold_topic_categories": {"type": "array", "items": {"enum": list(schema.CATEGORIES)},
                                              "description": "Streaming: a question on a topic that rules of "
                                                             "these categories judge by stance (a territory, "
                                                             "a contested event) is answered whole, so a "
                                                             "regenerated answer never contradicts released "
                                                             "text (see supervisor/hold.py)."},
                    "privacy": PRIVACY,
                    "retention": RETENTION,
                    "min_age": {"type": "integer", "minimum": 3, "maximum": 25,
                                "description": "students younger than this get a refusal, nothing upstream"},
                    "alert_categories": {"type": "array", "items": {"enum": list(schema.CATEGORIES)},
                                         "description": "Findings in these categories alert the school's "
                                                        "safeguarding contacts."},
                },
            },
        },
    },
)

SCHOOLS_FILE = schema.file_schema(
    "Schools (policies/schools.yaml)", ["schools"],
    {
        "schools": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "name", "country", "grades"],
                "properties": {
                    "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$"},
                    "name": {"type": "string", "minLength": 1},
                    "country": {"type": "string", "pattern": r"^[a-z]{2}$"},
                    "grades": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 12},
                               "minItems": 2, "maxItems": 2},
                    "languages": {"type": "array", "items": {"enum": list(schema.LANGUAGES)}},
                    "mode": {"enum": list(MODES)},
                    "policy": {"type": "string"},
                    "upstream": {"type": "string"},
                    "roster": {"type": "string", "description": "roster file (names to redact), relative to "
                                                                "the policies folder"},
                    "exam_windows": {"type": "array", "items": EXAM_WINDOW},
                    "safeguarding": _SAFEGUARDING,
                },
            },
        },
    },
)


@dataclass(frozen=True)
class Privacy:
    """Children's defaults: every kind of personal data redacted on the way out, redacted text stored."""

    redact: frozenset[str] = frozenset(REDACTION_KINDS)
    store: str = "redacted"
    ai_label: bool = False


@dataclass(frozen=True)
class Retention:
    days: int
    minimum_days: int = 0


@dataclass(frozen=True)
class Policy:
    name: str
    actions: Mapping[str, str]
    categories: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    modes: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=lambda: MappingProxyType({}))
    regenerate_attempts: int = 2
    hold: str = "sentence"
    hold_full_categories: tuple[str, ...] = ("self_harm", "sexual_content", "crisis_support")
    hold_topic_categories: tuple[str, ...] = ("contested_history", "official_terminology")
    privacy: Privacy = field(default_factory=lambda: Privacy())
    retention: Retention | None = None
    min_age: int | None = None
    # self-harm, distress disclosed by a student, threats and weapons: a safeguarding lead should know now
    alert_categories: tuple[str, ...] = ("self_harm", "crisis_support", "violence_weapons")

    def action_for(self, rule: Rule, mode: str) -> str:
        """Mode's category override, then the policy's, then the rule's own action, then by severity."""
        adjust = self.modes.get(mode, {})
        for table in (adjust.get("categories", {}), self.categories):
            if rule.category in table:
                return table[rule.category]
        if rule.action:
            return rule.action
        return adjust.get("actions", {}).get(rule.severity) or self.actions[rule.severity]


DEFAULT_POLICY = Policy(
    name="default",
    actions=MappingProxyType({"low": "flag", "medium": "rewrite", "high": "block", "critical": "block"}),
)


@dataclass(frozen=True)
class Safeguarding:
    """A school's safeguarding contacts. The webhook's signing key is read from `webhook_secret_env`."""

    webhook_url: str | None = None
    webhook_secret_env: str | None = None
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class School:
    id: str
    name: str
    country: str
    grades: tuple[int, int]
    mode: str = "tutor"
    policy: str = "default"
    upstream: str = "default"
    languages: tuple[str, ...] = ()
    roster: Roster | None = field(default=None, compare=False, repr=False)
    exam_windows: tuple[ExamWindow, ...] = ()
    safeguarding: Safeguarding = field(default_factory=Safeguarding)

    def grade_for(self, requested: int | None) -> int:
        """The grade a request is judged at: the requested one if inside the band, else the band's first
        (the most protective: an unknown grade is treated as the youngest the school teaches)."""
        if requested is not None and self.grades[0] <= requested <= self.grades[1]:
            return requested
        return self.grades[0]


@dataclass(frozen=True)
class Policies:
    policies: Mapping[str, Policy]
    schools: Mapping[str, School]

    def policy_for(self, school: School) -> Policy:
        return self.policies.get(school.policy, DEFAULT_POLICY)


def load_policies(folder: Path) -> Policies:
    folder = Path(folder)
    problems: list[Problem] = []
    policies: dict[str, Policy] = {"default": DEFAULT_POLICY}
    schools: dict[str, School] = {}

    pfile = folder / "policies.yaml"
    if pfile.is_file():
        data = _validated(pfile, POLICIES_FILE, problems)
        if data:
            for name, raw in data["policies"].items():
                policies[name] = Policy(
                    name=name,
                    actions=MappingProxyType(dict(raw["actions"])),
                    categories=MappingProxyType(dict(raw.get("categories") or {})),
                    modes=MappingProxyType({m: {k: dict(v) for k, v in adj.items()}
                                            for m, adj in (raw.get("modes") or {}).items()}),
                    regenerate_attempts=raw.get("regenerate_attempts", 2),
                    hold=raw.get("hold", "sentence"),
                    hold_full_categories=tuple(raw.get("hold_full_categories",
                                                       DEFAULT_POLICY.hold_full_categories)),
                    hold_topic_categories=tuple(raw.get("hold_topic_categories",
                                                        DEFAULT_POLICY.hold_topic_categories)),
                    privacy=_privacy(raw.get("privacy") or {}),
                    retention=_retention(raw.get("retention"), pfile, data, name, problems),
                    min_age=raw.get("min_age"),
                    alert_categories=tuple(raw.get("alert_categories", DEFAULT_POLICY.alert_categories)),
                )
    sfile = folder / "schools.yaml"
    if sfile.is_file():
        data = _validated(sfile, SCHOOLS_FILE, problems)
        if data:
            for i, raw in enumerate(data["schools"]):
                line = line_of(data, ["schools", i])
                if raw["id"] in schools:
                    problems.append(Problem(str(sfile), line, f"duplicate school id {raw['id']!r}"))
                if raw.get("policy", "default") not in policies:
                    problems.append(Problem(str(sfile), line_of(data, ["schools", i, "policy"]),
                                            f"school {raw['id']}: unknown policy {raw['policy']!r} "
                                            f"(known: {', '.join(sorted(policies))})"))
                if raw["grades"][0] > raw["grades"][1]:
                    problems.append(Problem(str(sfile), line_of(data, ["schools", i, "grades"]),
                                            f"school {raw['id']}: grades {raw['grades']}: first is after last"))
                schools[raw["id"]] = School(
                    id=raw["id"], name=raw["name"], country=raw["country"], grades=tuple(raw["grades"]),
                    mode=raw.get("mode", "tutor"), policy=raw.get("policy", "default"),
                    upstream=raw.get("upstream", "default"), languages=tuple(raw.get("languages") or ()),
                    roster=_roster(folder, raw.get("roster"), problems),
                    exam_windows=_windows(raw.get("exam_windows") or [], sfile, data, i, problems),
                    safeguarding=_safeguarding(raw.get("safeguarding") or {}))
    if problems:
        raise ConfigError(problems)
    return Policies(MappingProxyType(policies), MappingProxyType(schools))


def _windows(raw: list, path: Path, data: dict, index: int, problems: list[Problem]) -> tuple[ExamWindow, ...]:
    windows = []
    for j, item in enumerate(raw):
        try:
            windows.append(parse_window(item, str(path), line_of(data, ["schools", index, "exam_windows", j])))
        except ConfigError as exc:
            problems.extend(exc.problems)
    return tuple(windows)


def _roster(folder: Path, name: str | None, problems: list[Problem]) -> Roster | None:
    if not name:
        return None
    try:
        return load_roster(folder / name)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None


def _privacy(raw: dict) -> Privacy:
    default = Privacy()
    return Privacy(redact=frozenset(raw.get("redact", default.redact)), store=raw.get("store", default.store),
                   ai_label=raw.get("ai_label", default.ai_label))


def _retention(raw: dict | None, path: Path, data: dict, name: str, problems: list[Problem]) -> Retention | None:
    if raw is None:
        return None
    retention = Retention(raw["days"], raw.get("minimum_days", 0))
    if retention.days < retention.minimum_days:
        problems.append(Problem(str(path), line_of(data, ["policies", name, "retention", "days"]),
                                f"policy {name}: retention.days {retention.days} is below its minimum_days "
                                f"{retention.minimum_days}; keep records at least that long"))
    return retention
def _safeguarding(raw: dict) -> Safeguarding:
    webhook = raw.get("webhook") or {}
    return Safeguarding(webhook_url=webhook.get("url"), webhook_secret_env=webhook.get("secret_env"),
                        emails=tuple(raw.get("emails") or ()))


def _validated(path: Path, file_schema: dict, problems: list[Problem]) -> dict | None:
    try:
        data = load_yaml(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None
    found = schema_problems(path, data, jsonschema.Draft202012Validator(file_schema))
    problems.extend(found)
    return None if found else data
