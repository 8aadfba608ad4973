"""The curriculum file format, declared once as JSON Schema.

The loader validates every YAML file against these schemas (so unknown keys and wrong types are errors
with a file:line), and `supervisor schema` exports them so editors validate YAML as it is typed.
Cross-file checks (duplicate ids, unknown documents, examples that contradict phrases) live in the loader.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1

UNIVERSAL_CATEGORIES = (
    "self_harm", "crisis_support", "violence_weapons", "sexual_content", "drugs_alcohol", "gambling",
    "hate_harassment", "dangerous_activity", "personal_data", "extremism", "crime_fraud", "misinformation",
)
PEDAGOGY_CATEGORIES = ("academic_integrity", "age_appropriateness")
CURRICULUM_CATEGORIES = (
    "religion", "national_symbols", "contested_history", "official_terminology", "sex_education_by_grade",
)
CATEGORIES = UNIVERSAL_CATEGORIES + PEDAGOGY_CATEGORIES + CURRICULUM_CATEGORIES
CONTROL_CATEGORIES = ("benign_lesson", "hard_negative", "refusal", "safe_general", "harmful_general")

LANGUAGES = ("ja", "th", "vi", "id", "ms", "tl", "km", "en", "zh", "lo", "my", "ta", "tet", "pt")
SEVERITIES = ("low", "medium", "high", "critical")
ACTIONS = ("pass", "flag", "rewrite", "block")
KINDS = ("phrase", "fuzzy", "semantic")
REWRITE_STRATEGIES = ("replace_terms", "append_note", "append_help", "remove_sentences", "regenerate")

_ID = r"^[a-z][a-z0-9]*(\.[a-z0-9][a-z0-9-]*)+$"
_LANG_KEYS = {"propertyNames": {"enum": list(LANGUAGES)}}


def file_schema(title: str, required: list[str], properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A top-level YAML file: `schema_version` first and required, unknown keys rejected."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        **extra,
        "type": "object",
        "additionalProperties": False,
        "required": ["schema_version", *required],
        "properties": {"schema_version": {"const": SCHEMA_VERSION}, **properties},
    }


def _per_language(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", **_LANG_KEYS, "additionalProperties": item}


_TEXT = {"type": "string", "minLength": 1}
_TEXTS_PER_LANGUAGE = _per_language({"type": "array", "items": _TEXT, "minItems": 1})
_TEXT_PER_LANGUAGE = _per_language(_TEXT)
_GRADE = {"type": "integer", "minimum": 1, "maximum": 12}
# one English string (as before), or the same text per language with English required: a string's keywords
# (minLength) apply only to strings and a mapping's (required, propertyNames) only to mappings
_DESCRIPTION = {
    "type": ["string", "object"], "minLength": 1, **_LANG_KEYS, "additionalProperties": _TEXT, "required": ["en"],
    "description": "What the rule forbids and what it leaves alone, for teachers and officers: one English text, "
                   "or a mapping language -> text with `en` required (the review pages show the reader's "
                   "language, else English).",
}

DOCUMENT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title", "issuer"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$"},
        "title": _TEXT,
        "title_en": _TEXT,
        "issuer": _TEXT,
        "edition": {"type": ["string", "integer"]},
        "url": {"type": "string", "pattern": r"^https?://"},
    },
}

GRADE_BAND = {
    "type": "object",
    "additionalProperties": False,
    "required": ["level", "grades"],
    "properties": {
        "level": _TEXT,
        "level_en": _TEXT,
        "grades": {"type": "array", "items": _GRADE, "minItems": 2, "maxItems": 2},
        "ages": {"type": "array", "items": {"type": "integer", "minimum": 3, "maximum": 20}, "minItems": 2,
                 "maxItems": 2},
        "local_names": {"type": "array", "items": _TEXT},
    },
}

COUNTRY_FILE = file_schema(
    "Curriculum country file (curricula/<cc>/country.yaml, curricula/_baseline/baseline.yaml)",
    ["country", "name", "languages", "messages"],
    {
        "country": {"type": "string", "pattern": r"^([a-z]{2}|baseline)$"},
        "name": _TEXT,
        "extends": {"const": "baseline", "description": "Countries extend the universal baseline explicitly."},
        "disable": {
            "type": "array",
            "description": "Baseline rules this country switches off, by id, each with the reason.",
            "items": {"type": "object", "additionalProperties": False, "required": ["id", "reason"],
                      "properties": {"id": {"type": "string", "pattern": _ID}, "reason": _TEXT}},
        },
        "languages": {"type": "array", "items": {"enum": list(LANGUAGES)}, "minItems": 1, "uniqueItems": True},
        "documents": {"type": "array", "items": DOCUMENT},
        "grades": {"type": "array", "items": GRADE_BAND},
        "messages": {
            "type": "object",
            "additionalProperties": False,
            "required": ["refusal", "help"],
            "properties": {
                "refusal": {**_TEXT_PER_LANGUAGE, "description": "What a student sees instead of a blocked answer."},
                "help": {**_TEXT_PER_LANGUAGE,
                         "description": "Local help for a student in distress. Name the kind of help; never "
                                        "invent a hotline number."},
                "rewritten": {**_TEXT_PER_LANGUAGE, "description": "Note added when part of an answer was changed."},
                "corrected": {**_TEXT_PER_LANGUAGE,
                              "description": "Said before a streamed answer's regenerated rest when a sentence the "
                                             "student had already read broke a rule: that it was wrong, and that "
                                             "the correct explanation follows."},
            },
        },
        "help_markers": {
            **_TEXTS_PER_LANGUAGE,
            "description": "Phrases that show an answer already points the student to help (counsellor, "
                           "trusted adult, helpline); crisis rules with `response_lacks: help` use them.",
        },
        "refusal_markers": {
            **_TEXTS_PER_LANGUAGE,
            "description": "Phrases with which an answer declines (\"I can't help with\", \"não posso\"). An answer "
                           "whose first sentences hold one does not go along with a harmful request, whatever "
                           "topic it names, and a sentence holding one is not judged by its topic. Write the words "
                           "a refusal is made of, not a topic. \"…\" stands for up to 50 characters between two "
                           "parts (Thai \"ช่วย…ไม่ได้ครับ\").",
        },
    },
)

REWRITE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["strategy"],
    "properties": {
        "strategy": {"enum": list(REWRITE_STRATEGIES)},
        "guidance": {**_TEXT, "description": "For regenerate: what the upstream is told to do differently."},
        "replacements": _per_language({"type": "object", "additionalProperties": {"type": "string"}}),
    },
}

RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "category", "severity", "description", "kind", "examples", "source"],
    "properties": {
        "id": {"type": "string", "pattern": _ID},
        "category": {"enum": list(CATEGORIES)},
        "severity": {"enum": list(SEVERITIES)},
        "grades": {"type": "array", "items": _GRADE, "minItems": 2, "maxItems": 2,
                   "description": "[first, last] grade the rule applies to; absent means every grade."},
        "description": _DESCRIPTION,
        "kind": {"type": "array", "items": {"enum": list(KINDS)}, "minItems": 1, "uniqueItems": True},
        "target": {"enum": ["response", "user"],
                   "description": "What the rule reads: the assistant's answer (default) or the student's "
                                  "last message (disclosures, requests to cheat)."},
        "when": {
            "type": "object",
            "additionalProperties": False,
            "description": "Extra conditions on the answer for rules that target the student's message.",
            "properties": {
                "response_lacks": {"enum": ["help"]},
                "response_min_chars": {"type": "integer", "minimum": 1},
            },
        },
        "phrases": _TEXTS_PER_LANGUAGE,
        "examples": {
            "type": "object",
            "additionalProperties": False,
            "required": ["match"],
            "properties": {
                "match": _TEXTS_PER_LANGUAGE, "no_match": _TEXTS_PER_LANGUAGE,
                "requests": {**_TEXTS_PER_LANGUAGE,
                             "description": "Rules on the AI's answer: what students ask when an answer this rule "
                                            "forbids would serve them. An answer that goes along with such a "
                                            "request is judged by it, even when its own words are mild."},
            },
        },
        "threshold": {"type": "number", "minimum": 0.0, "maximum": 1.0,
                      "description": "Semantic: the least similarity to a must-match example (after the "
                                     "index removes what all sentences share; the default is 0.38)."},
        "margin": {"type": "number", "minimum": -0.2, "maximum": 0.5,
                   "description": "Semantic: how much closer to must-match than to must-not examples."},
        "fuzzy_score": {"type": "number", "minimum": 60, "maximum": 100},
        "action": {"enum": list(ACTIONS), "description": "Overrides the policy's action for this severity."},
        "rewrite": REWRITE,
        "hold": {"enum": ["sentence", "full"],
                 "description": "Streaming: `full` holds the whole answer until it is checked."},
        "messages": _TEXT_PER_LANGUAGE,
        "overrides": {"type": "string", "pattern": _ID,
                      "description": "The baseline rule this country rule replaces."},
        "source": {
            "type": "object",
            "additionalProperties": False,
            "required": ["document"],
            "properties": {"document": {"type": "string"}, "clause": _TEXT},
        },
    },
}

RULES_FILE = file_schema("Curriculum rules file (curricula/<cc>/*.yaml)", ["rules"],
                         {"rules": {"type": "array", "items": RULE}})


LESSONS_FILE = file_schema(
    "Everyday lesson sentences (curricula/<cc>/lessons.yaml)", ["lessons"],
    {"lessons": _TEXTS_PER_LANGUAGE, "questions": _TEXTS_PER_LANGUAGE, "tasks": _TEXTS_PER_LANGUAGE,
     "refusals": _TEXTS_PER_LANGUAGE},
    description="Sentences from ordinary good lessons (`lessons`), ordinary students' questions "
                "(`questions`), ordinary things students ask the assistant to write or make (`tasks`: a poem, a "
                "quiz, a ghost story for the school festival; what a harmful request must differ from) and safe "
                "refusals, redirections and words of support (`refusals`), per language, "
                "that no rule may match. `refusals` also teach the detector what declining looks like in each "
                "language, whatever topic a refusal names. A rule on the AI's answer must be closer "
                "to its own must-match examples than to the lessons, a rule on the student's message closer "
                "than to the questions; this calibrates each language's background similarity (in some "
                "languages any two sentences look alike).")


# What a probe asks about; each maps to the rule categories that usually judge the answers (see probes.py).
PROBE_TOPICS = ("history", "territory", "religion", "symbols", "health", "sex_education")

PROBE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "topic", "category", "grades", "ask"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$",
               "description": "Unique within the file: lowercase letters, digits and dashes."},
        "topic": {"enum": list(PROBE_TOPICS)},
        "category": {"enum": list(CATEGORIES),
                     "description": "The rule category the answer is judged under most."},
        "grades": {"type": "array", "items": _GRADE, "minItems": 2, "maxItems": 2,
                   "description": "The grade band the question suits, [first, last] inclusive."},
        "ask": {**_per_language({"type": "array", "items": _TEXT, "minItems": 1}), "minProperties": 1,
                "description": "Per language the country teaches in: one or more ordinary student questions."},
    },
}

PROBES_FILE = file_schema(
    "Curriculum probes (curricula/<cc>/probes.yaml)", ["probes"],
    {"probes": {"type": "array", "items": PROBE, "minItems": 1}},
    description="The questions students ordinarily ask about the country (its history, territory, religion, "
                "symbols, health and sex education), per grade band and language, owned by the ministry. "
                "`supervisor compare` asks every upstream model these and judges the answers under the "
                "country's curriculum; they are never used to decide anything for a student.")


def export() -> dict[str, Any]:
    """The JSON Schemas for editors: country files, rule files, lessons and probes."""
    return {"country": COUNTRY_FILE, "rules": RULES_FILE, "lessons": LESSONS_FILE, "probes": PROBES_FILE}
