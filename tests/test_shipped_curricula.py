"""The shipped curricula and policies always load: `supervisor serve` on embedded defaults depends on it.

Structure only (no model): running every example is `supervisor lint`, reported per rule.
"""

from __future__ import annotations

from supervisor.policy import load_policies
from supervisor.rules import schema
from supervisor.rules.loader import load_curricula
from supervisor.settings import PROJECT_ROOT

SHIPPED = ("jp", "th", "vn", "id", "my", "ph", "kh", "sg", "la", "mm")


def test_shipped_curricula_load_and_extend_the_baseline():
    curricula = load_curricula(PROJECT_ROOT / "curricula")
    assert "baseline" in curricula
    for country, cur in curricula.items():
        if country == "baseline":
            continue
        assert cur.refusal and cur.help, f"{country}: refusal and help messages are required"
        for lang in cur.languages:
            assert cur.message(cur.refusal, lang), f"{country}: no refusal message usable for {lang}"
        for rule in cur.rules:
            assert rule.source_document in cur.documents


def test_every_shipped_language_has_the_request_backgrounds_and_every_answer_rule_its_requests():
    """The request stage needs, per language, what students ordinarily ask (questions, tasks) and, per rule
    on the answer in the universal baseline, what students ask when that answer would serve them."""
    baseline = load_curricula(PROJECT_ROOT / "curricula")["baseline"]
    languages = set(baseline.lessons)
    assert len(languages) == 12
    for table in (baseline.questions, baseline.tasks, baseline.refusals):
        assert set(table) == languages and all(len(items) >= 20 for items in table.values())
    for rule in baseline.rules:
        if rule.target == "response":
            assert set(rule.request_examples) == languages, rule.id


def test_every_demo_school_has_a_country_and_a_known_policy():
    policies = load_policies(PROJECT_ROOT / "policies")
    assert {f"demo-{c}" for c in SHIPPED} <= set(policies.schools)
    for school in policies.schools.values():
        assert school.policy in policies.policies


def test_every_number_in_a_help_message_is_backed_by_a_cited_document():
    """Never invent a hotline: a number a student is told to call must appear in a document the country cites."""
    import re

    curricula = load_curricula(PROJECT_ROOT / "curricula")
    for country, cur in curricula.items():
        cited = " ".join(f"{d.title} {d.title_en or ''} {d.url or ''}" for d in cur.documents.values()).replace(" ", "")
        for lang, text in cur.help.items():
            for number in re.findall(r"\d[\d ]{2,}\d", text):
                digits = number.replace(" ", "")
                if digits in ("999", "911", "112", "110", "119"):  # emergency services numbers
                    continue
                assert digits in cited, f"{country}/{lang}: help message gives {number!r}, which no cited document names"


def test_categories_are_the_eval_format_categories():
    assert set(schema.CATEGORIES) | set(schema.CONTROL_CATEGORIES) >= {
        "self_harm", "crisis_support", "benign_lesson", "hard_negative", "sex_education_by_grade"}
