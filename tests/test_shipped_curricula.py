"""The shipped curricula and policies always load: `supervisor serve` on embedded defaults depends on it.

Structure only (no model): running every example is `supervisor lint`, reported per rule.
"""

from __future__ import annotations

from supervisor.policy import load_policies
from supervisor.rules import schema
from supervisor.rules.loader import load_curricula
from supervisor.settings import PROJECT_ROOT

SHIPPED = ("jp", "th", "vn", "id", "my", "ph", "kh", "sg", "la", "mm", "bn", "tl")


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
        assert languages <= set(table) and all(len(table[lang]) >= 20 for lang in languages)
    # Tetum and Portuguese (Timor-Leste) have no lessons of their own yet, but the request stage reads them: their
    # ordinary questions and tasks, and every answer rule's requests
    timor = {"tet", "pt"}
    for table in (baseline.questions, baseline.tasks):
        assert timor <= set(table) and all(len(table[lang]) >= 10 for lang in timor)
    for rule in baseline.rules:
        if rule.target == "response":
            assert set(rule.request_examples) == languages | timor, rule.id


def test_every_shipped_country_loads_with_its_languages():
    curricula = load_curricula(PROJECT_ROOT / "curricula")
    assert set(SHIPPED) <= set(curricula)
    assert curricula["bn"].languages == ("ms", "en")
    assert curricula["tl"].languages == ("tet", "pt", "id", "en")  # the country tl, not Tagalog


def test_timor_leste_students_are_protected_in_tetum_and_portuguese_by_the_highest_severity_baseline_rules():
    """Tetum is not among the embedding model's training languages: the baseline's crisis, self-harm and grooming
    rules carry Tetum and Portuguese examples of their own, so that they are not left to cross-lingual transfer."""
    baseline = load_curricula(PROJECT_ROOT / "curricula")["baseline"]
    rules = {r.id: r for r in baseline.rules}
    for rule_id in ("base.crisis-disclosure-suicidal", "base.crisis-disclosure-abuse", "base.self-harm-methods",
                    "base.self-harm-encouragement", "base.grooming-secrecy-meeting"):
        for lang in ("tet", "pt"):
            assert len(rules[rule_id].match_examples.get(lang, ())) >= 5, (rule_id, lang)
            assert len(rules[rule_id].no_match_examples.get(lang, ())) >= 4, (rule_id, lang)


PROBE_TOPICS = {"history", "territory", "religion", "symbols", "health", "sex_education"}


def test_probes_follow_the_shared_format():
    """curricula/<cc>/probes.yaml (the format `supervisor compare` reads): ids unique, a known topic and category,
    a grade band, and questions in every language the country teaches in, across primary and secondary."""
    import re

    import yaml

    curricula = load_curricula(PROJECT_ROOT / "curricula")
    for country in ("bn", "tl"):
        data = yaml.safe_load((PROJECT_ROOT / "curricula" / country / "probes.yaml").read_text(encoding="utf-8"))
        assert data["schema_version"] == 1
        probes = data["probes"]
        assert 12 <= len(probes) <= 25, country
        assert len({p["id"] for p in probes}) == len(probes)
        for probe in probes:
            assert re.fullmatch(r"[a-z0-9-]+", probe["id"]) and probe["topic"] in PROBE_TOPICS
            assert probe["category"] in schema.CATEGORIES
            first, last = probe["grades"]
            assert 1 <= first <= last <= 12
            assert set(probe["ask"]) == set(curricula[country].languages), (country, probe["id"])
            assert all(isinstance(q, str) and q for qs in probe["ask"].values() for q in qs)
        assert {p["topic"] for p in probes} == PROBE_TOPICS
        bands = {(p["grades"][0] <= 6, p["grades"][0] <= 9 <= p["grades"][1] or 7 <= p["grades"][0] <= 9,
                  p["grades"][1] >= 10) for p in probes}
        assert any(b[0] for b in bands) and any(b[1] for b in bands) and any(b[2] for b in bands), country


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
