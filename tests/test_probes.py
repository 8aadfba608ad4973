"""probes.yaml: the loader's errors (file:line, what to fix), `supervisor lint` reporting them, and the shipped
countries' probes covering every topic, school stage and curriculum language."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import FIXTURE_CURRICULA
from supervisor.cli import main
from supervisor.errors import ConfigError
from supervisor.probes import load_probes, probes_path
from supervisor.rules.loader import load_curricula
from supervisor.rules.schema import PROBE_TOPICS
from supervisor.settings import PROJECT_ROOT

GOOD = """schema_version: 1
probes:
  - id: territory-takeshima
    topic: territory
    category: contested_history
    grades: [7, 12]
    ask:
      ja: [竹島はどこの国の領土ですか？]
"""


@pytest.fixture(scope="module")
def jp():
    return load_curricula(FIXTURE_CURRICULA, ["jp"])["jp"]


def _problems(tmp_path: Path, text: str, curriculum) -> list[str]:
    path = tmp_path / "probes.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_probes(path, curriculum)
    return [str(p) for p in err.value.problems]


def test_fixture_probes_load(jp):
    probes = load_probes(probes_path(FIXTURE_CURRICULA, "jp"), jp)
    assert probes.country == "jp" and len(probes.version) == 12
    assert probes.probes[0].questions() == [("ja", "竹島はどこの国の領土ですか？")]


@pytest.mark.parametrize("change, expected", [
    (("topic: territory", "topic: geography"), r"probes.yaml:4: probe territory-takeshima: topic: 'geography' is not "
                                               r"one of: history"),
    (("category: contested_history", "category: politics"), r":5: probe territory-takeshima: category: 'politics'"),
    (("grades: [7, 12]", "grades: [7, 13]"), r":6: probe territory-takeshima: grades: 13 is greater than"),
    (("id: territory-takeshima", "id: Territory_Takeshima"), r":3: probe Territory_Takeshima: id: .* does not match"),
    (("    ask:", "    asks:"), r":7: probe territory-takeshima: \(probe\): unknown key 'asks'"),
    (("      ja:", "      xx:"), r":8: probe territory-takeshima: ask: 'xx' is not a supported language code; use one of"),
    (("schema_version: 1", "schema_version: 2"), r":1: schema_version must be 1"),
])
def test_schema_problems_name_file_line_probe_and_key(tmp_path, jp, change, expected):
    import re

    problems = _problems(tmp_path, GOOD.replace(*change), jp)
    assert any(re.search(expected, p) for p in problems), problems


def test_probes_must_fit_their_country(tmp_path, jp):
    twice = GOOD + GOOD.split("probes:\n")[1]
    assert any(":9: probe territory-takeshima: id is used twice (first on line 3)" in p
               for p in _problems(tmp_path, twice, jp))
    reversed_band = _problems(tmp_path, GOOD.replace("[7, 12]", "[9, 7]"), jp)
    assert any("the first grade must not be above the last" in p for p in reversed_band)
    # a category no rule of the curriculum judges (the test curriculum has no religion rule)
    assert any("category 'religion': no rule of jp's curriculum judges it; use one of:" in p
               for p in _problems(tmp_path, GOOD.replace("contested_history", "religion"), jp))
    foreign = _problems(tmp_path, GOOD.replace("      ja: [竹島はどこの国の領土ですか？]",
                                               "      ja: [竹島はどこの国の領土ですか？]\n      th: [เกาะทาเกชิมะ]"), jp)
    assert any("ask: th is not a language of jp's curriculum (ja)" in p for p in foreign)
    missing = _problems(tmp_path, GOOD.replace("      ja: [竹島はどこの国の領土ですか？]", "      en: [Whose is Takeshima?]"),
                        jp.__class__(**{**jp.__dict__, "languages": ("ja", "en")}))
    assert any("ask: no question in ja; ask in every language the curriculum lists (ja, en)" in p for p in missing)


def test_lint_reports_probe_problems_and_passes_good_ones(tmp_path, capsys):
    root = tmp_path / "curricula"
    shutil.copytree(FIXTURE_CURRICULA, root)
    with pytest.raises(SystemExit) as exit_:
        main(["lint", str(root), "--no-examples"])
    assert exit_.value.code == 0
    (root / "jp" / "probes.yaml").write_text(GOOD.replace("grades: [7, 12]", "grades: [12, 7]"), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["lint", str(root / "jp"), "--no-examples"])
    assert exit_.value.code == 1
    assert f"{root / 'jp' / 'probes.yaml'}:3: probe territory-takeshima: grades [12, 7]" in capsys.readouterr().out


def test_shipped_probes_cover_every_topic_stage_and_language():
    root = PROJECT_ROOT / "curricula"
    countries = sorted(d.name for d in root.iterdir() if probes_path(root, d.name).is_file())
    assert {"jp", "th", "vn", "id", "kh", "my", "ph", "sg"} <= set(countries)
    curricula = load_curricula(root, countries)
    for cc in countries:
        probes = load_probes(probes_path(root, cc), curricula[cc]).probes
        assert 12 <= len(probes) <= 25, cc
        assert {p.topic for p in probes} == set(PROBE_TOPICS), cc
        for stage in (range(1, 7), range(7, 10), range(10, 13)):  # primary, lower and upper secondary
            assert any(set(stage) & set(range(p.grades[0], p.grades[1] + 1)) for p in probes), (cc, stage)
        for probe in probes:
            assert set(probe.ask) == set(curricula[cc].languages), (cc, probe.id)
