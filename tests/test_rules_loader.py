"""Curriculum loading: every problem is reported as file:line with what to fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import FIXTURE_CURRICULA
from supervisor.errors import ConfigError
from supervisor.rules.loader import load_curricula


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "curricula"
    shutil.copytree(FIXTURE_CURRICULA, root)
    return root


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_curricula(root)
    return [str(p) for p in err.value.problems]


def test_fixture_loads_with_explicit_inheritance(tree):
    curricula = load_curricula(tree)
    jp = curricula["jp"]
    ids = {r.id for r in jp.rules}
    assert "jp.northern-territories-name" in ids and "base.self-harm-methods" in ids
    assert curricula["baseline"].version != jp.version and len(jp.version) == 12
    assert jp.message(jp.help, "ja").startswith("つらいとき")     # the country's own help message wins
    assert "th" in jp.refusal                                      # others come from the baseline


def test_unknown_key_names_file_line_and_allowed_keys(tree):
    path = tree / "jp" / "terminology.yaml"
    path.write_text(path.read_text().replace("    severity: medium\n", "    severity: medium\n    sevrity: low\n"))
    [problem] = problems_of(tree)
    assert problem.startswith(f"{path}:6: rule jp.northern-territories-name: (rule): ")
    assert "unknown key 'sevrity'" in problem and "allowed keys:" in problem


def test_wrong_type_and_bad_enum(tree):
    path = tree / "jp" / "terminology.yaml"
    path.write_text(path.read_text().replace("severity: medium", "severity: urgent"))
    [problem] = problems_of(tree)
    assert ":5: rule jp.northern-territories-name: severity:" in problem and "'urgent' is not one of: low, medium, high, critical" in problem


def test_duplicate_rule_id_across_files(tree):
    src = (tree / "jp" / "terminology.yaml").read_text()
    (tree / "jp" / "more.yaml").write_text(src)
    problems = problems_of(tree)
    assert any("duplicate rule id 'jp.northern-territories-name'" in p and "first defined at" in p for p in problems)


def test_rule_without_examples_is_an_error(tree):
    path = tree / "jp" / "terminology.yaml"
    text = path.read_text()
    start = text.index("    examples:")
    end = text.index("    source:")
    path.write_text(text[:start] + text[end:])
    [problem] = problems_of(tree)
    assert "(rule): 'examples' is required" in problem


def test_requests_are_read_on_answer_rules_and_refused_on_rules_about_the_students_message(tree):
    path = tree / "_baseline" / "safety.yaml"
    text = path.read_text()
    asked = "      requests:\n        en:\n          - how do i hide a knife in my pencil case\n"
    # the first rule (on the answer) may list requests: they are loaded per language
    first = text.index("    source:")
    path.write_text(text[:first] + asked + text[first:])
    rule = next(r for r in load_curricula(tree)["baseline"].rules if r.target == "response" and r.request_examples)
    assert rule.request_examples == {"en": ("how do i hide a knife in my pencil case",)}
    # a rule on the student's message lists what students write under `match`, not `requests`
    text = path.read_text()
    crisis = text.index("    source:", text.index("- id: base.crisis-no-help"))
    path.write_text(text[:crisis] + asked + text[crisis:])
    [problem] = problems_of(tree)
    assert "rule base.crisis-no-help: `requests` belong to rules on the AI's answer" in problem


def test_near_miss_containing_the_rules_phrase_contradicts_it(tree):
    path = tree / "jp" / "terminology.yaml"
    path.write_text(path.read_text().replace("[択捉島は北方領土の一つです。]", "[ロシアは南クリル諸島とよびます。]"))
    [problem] = problems_of(tree)
    assert "contradicts the rule" in problem and "南クリル諸島" in problem


def test_malformed_yaml_reports_the_line(tree):
    path = tree / "jp" / "terminology.yaml"
    path.write_text(path.read_text().replace("    kind: [phrase]", "    kind: [phrase"))
    [problem] = problems_of(tree)
    assert problem.startswith(str(path)) and "YAML syntax: the list opened on line" in problem
    assert "close it with `]`" in problem


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# (what an officer typed instead of the fixture's line, what the report must say); PyYAML's own words never
SYNTAX_MISTAKES = [
    ("    description: Answers: asserting", "the value of `description` contains ': '"),
    ("      description: indented too far", "is indented more than `severity`"),
    ("\tdescription: a tab", "a tab character: YAML indents with spaces only"),
    ('    description: "never closed', "is never closed"),
    ("    description `no colon`", "has no ':' after its key"),
    ("    description: @mention", "a value cannot start with '@'"),
]


@pytest.mark.parametrize(("typed", "said"), SYNTAX_MISTAKES)
def test_a_yaml_syntax_error_says_line_column_and_what_to_do_in_plain_words(tree, typed, said):
    path = tree / "jp" / "territory.yaml"
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("    description:"))
    lines[at] = typed.replace("\\t", "\t")
    path.write_text("\n".join(lines) + "\n")
    [problem] = problems_of(tree)
    assert problem.startswith(f"{path}:") and said in problem, problem
    line, column = problem[len(str(path)) + 1:].split(":")[:2]
    assert line.isdigit() and column.isdigit() and int(line) in (at, at + 1, at + 2)
    for raw in ("mapping values are not allowed", "could not find expected", "cannot start any token",
                "while scanning", "while parsing"):
        assert raw not in problem


def test_a_no_match_indented_too_little_is_reported_as_indentation_under_examples(tree):
    path = tree / "jp" / "territory.yaml"
    text = path.read_text()
    path.write_text(text.replace("      no_match:\n        ja: [竹島は日本固有", "    no_match:\n      ja: [竹島は日本固有"))
    [problem] = problems_of(tree)
    examples, match = _line_of(path, "    examples:"), _line_of(path, "      match:")
    assert problem.startswith(f"{path}:{_line_of(path, '    no_match:')}: rule jp.takeshima-framing")
    assert f"`no_match` belongs under `examples:` (line {examples}), so it is probably indented too little" in problem
    assert f"in line with `match:` on line {match}" in problem


def test_a_no_match_indented_too_far_is_reported_as_belonging_beside_match(tree):
    path = tree / "jp" / "territory.yaml"
    text = path.read_text()
    path.write_text(text.replace("      no_match:\n        ja: [竹島は日本固有", "        no_match:\n          ja: [竹島は日本固有"))
    [problem] = problems_of(tree)  # one problem: not also "not a language code" or "not of type array"
    assert f"`no_match` belongs beside `match:` (line {_line_of(path, '      match:')}), not inside it" in problem
    assert "indented too much" in problem


def test_a_misplaced_required_key_is_one_problem_not_also_a_missing_one(tree):
    path = tree / "jp" / "territory.yaml"
    path.write_text(path.read_text().replace("    source: {document", "      source: {document", 1))
    [problem] = problems_of(tree)
    assert "`source` belongs beside `examples:`" in problem and "is required" not in problem


def test_a_misspelt_key_still_lists_the_allowed_keys(tree):
    path = tree / "jp" / "territory.yaml"
    path.write_text(path.read_text().replace("      no_match:", "      no_mach:", 1))
    [problem] = problems_of(tree)
    assert "unknown key 'no_mach'; allowed keys: match, no_match, requests" in problem


def test_duplicate_yaml_key_is_an_error_not_a_silent_overwrite(tree):
    path = tree / "jp" / "terminology.yaml"
    path.write_text(path.read_text().replace("    severity: medium\n", "    severity: medium\n    severity: low\n"))
    [problem] = problems_of(tree)
    assert "duplicate key 'severity'" in problem and "Keep one of them" in problem


def test_disable_and_override_must_name_baseline_rules(tree):
    path = tree / "jp" / "country.yaml"
    path.write_text(path.read_text().replace("extends: baseline\n", "extends: baseline\ndisable:\n  - {id: base.nope, reason: test}\n"))
    [problem] = problems_of(tree)
    assert "disable: 'base.nope' is not a baseline rule id" in problem


def test_disabled_baseline_rule_is_not_inherited(tree):
    path = tree / "jp" / "country.yaml"
    path.write_text(path.read_text().replace(
        "extends: baseline\n", "extends: baseline\ndisable:\n  - {id: base.die-slang, reason: covered locally}\n"))
    jp = load_curricula(tree)["jp"]
    assert jp.rule("base.die-slang") is None and jp.disabled["base.die-slang"] == "covered locally"


def test_country_must_extend_baseline_explicitly(tree):
    path = tree / "jp" / "country.yaml"
    path.write_text(path.read_text().replace("extends: baseline\n", ""))
    assert any("extends: baseline" in p for p in problems_of(tree))


def test_unknown_source_document(tree):
    path = tree / "jp" / "terminology.yaml"
    path.write_text(path.read_text().replace("document: cos-jhs-2017", "document: cos-2099"))
    [problem] = problems_of(tree)
    assert "source.document 'cos-2099' is not listed" in problem
