"""Teachers read the pages, the rules and the alerts in their own language.

Rule descriptions may be one English text or a mapping language -> text with English required; lint warns
(never fails) about a language a curriculum teaches in that a rule it defines lacks. The shipped curricula
describe every baseline rule in all twelve served languages and every country rule in that country's own
languages; the pages, the category names and the alert e-mail have every served language.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import FIXTURE_CURRICULA
from supervisor.alert_text import TEXT as ALERT_TEXT
from supervisor.errors import ConfigError
from supervisor.lint import untranslated
from supervisor.review.i18n import UI_LANGUAGES, missing_translations, translator, unknown_keys
from supervisor.rules import schema
from supervisor.rules.category_names import CATEGORY_NAMES, category_name
from supervisor.rules.loader import load_curricula

SHIPPED = Path(__file__).parent.parent / "curricula"


def test_every_served_language_has_the_pages_the_category_names_and_the_alert_words():
    assert set(UI_LANGUAGES) == set(schema.LANGUAGES)
    assert missing_translations() == [] and unknown_keys() == []
    assert set(CATEGORY_NAMES) == set(schema.CATEGORIES)
    assert all(set(names) == set(schema.LANGUAGES) and all(names.values()) for names in CATEGORY_NAMES.values())
    assert all(set(words) == set(schema.LANGUAGES) and all(words.values()) for words in ALERT_TEXT.values())
    assert category_name("self_harm", "ja") == "自傷・自殺" and category_name("self_harm", "xx") == "Self-harm and suicide"
    assert translator("km")("queue") != translator("en")("queue")
    assert translator("xx")("queue") == "Queue" and translator("ja")("no-such-key") == "no-such-key"


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "curricula"
    shutil.copytree(FIXTURE_CURRICULA, root)
    return root


def test_a_description_is_a_string_or_a_mapping_with_english(tree):
    rule = load_curricula(tree)["jp"].rule("base.weapons-concealment")
    assert rule.description == "Instructions to bring or hide a weapon at school."     # English, as before
    assert rule.describe("ja").startswith("武器を") and rule.describe("vi") == rule.description
    path = tree / "_baseline" / "safety.yaml"
    text = path.read_text()
    path.write_text(text.replace("      en: Instructions to bring or hide a weapon at school.\n", ""))
    with pytest.raises(ConfigError) as err:
        load_curricula(tree)
    assert any("rule base.weapons-concealment: description: 'en' is required" in str(p) for p in err.value.problems)
    path.write_text(text.replace("      th: คำตอบ", "      xx: คำตอบ"))
    with pytest.raises(ConfigError) as err:
        load_curricula(tree)
    assert any("description: 'xx' is not a supported language code" in str(p) for p in err.value.problems)


def test_lint_warns_about_a_language_a_rule_lacks(tree):
    curricula = load_curricula(tree)
    warned = [str(p) for p in untranslated(curricula["jp"])]
    # jp teaches in Japanese: its own rules have English only (the baseline's are checked in the baseline's run)
    assert any("rule jp.northern-territories-name: no description in ja" in w for w in warned)
    assert not any("base." in w for w in warned)
    baseline = [str(p) for p in untranslated(curricula["baseline"])]
    assert any("rule base.weapons-concealment: no description in vi, km" in w for w in baseline)


# Countries added later may start with English descriptions (lint warns); these are translated in full.
DESCRIBED = ("baseline", "id", "jp", "kh", "my", "ph", "sg", "th", "vn")


def test_the_shipped_curricula_are_described_in_the_languages_they_teach():
    curricula = load_curricula(SHIPPED, [c for c in DESCRIBED if c != "baseline"])
    missing = {country: [str(p) for p in untranslated(cur)] for country, cur in curricula.items()}
    assert not any(missing.values()), {c: m[:3] for c, m in missing.items() if m}
