"""CLI commands and settings, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import FIXTURE_CURRICULA
from supervisor.errors import ConfigError
from supervisor.settings import load_settings


def run(*args: str, stdin: str | None = None, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "supervisor", *args], capture_output=True, text=True, input=stdin,
                          timeout=300, env=env)


def test_environment_overrides_config_file(tmp_path):
    cfg = tmp_path / "deploy.yaml"
    cfg.write_text("upstream: {model: openai/gpt-4o-mini, timeout: 30}\nport: 9000\n")
    s = load_settings(cfg, env={"SUPERVISOR_UPSTREAM_MODEL": "ollama/qwen2.5:3b", "SUPERVISOR_PORT": "9100"})
    assert s.upstream.model == "ollama/qwen2.5:3b" and s.upstream.timeout == 30 and s.port == 9100
    assert load_settings(None, env={}).upstream.is_demo


def test_unknown_setting_is_an_error(tmp_path):
    cfg = tmp_path / "deploy.yaml"
    cfg.write_text("upstream: {model: x}\nprot: 9000\n")
    with pytest.raises(ConfigError, match=r"deploy.yaml:2: unknown setting 'prot'"):
        load_settings(cfg, env={})


def test_schema_command_exports_json_schema():
    out = run("schema", "rules")
    assert out.returncode == 0
    schema = json.loads(out.stdout)
    assert schema["properties"]["rules"]["items"]["additionalProperties"] is False


def test_check_command_json(tmp_path):
    out = run("check", "--country", "jp", "--grade", "8", "--json", "--curricula", str(FIXTURE_CURRICULA), "-",
              stdin="択捉島は南クリル諸島と呼ばれるロシアの領土です。",
              env_extra={"SUPERVISOR_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    verdict = json.loads(out.stdout)
    assert verdict["decision"] == "rewrite" and verdict["rules"] == ["jp.northern-territories-name"]


def test_a_mistyped_country_is_an_error_not_a_pass(tmp_path):
    out = run("check", "--country", "xx", "--curricula", str(FIXTURE_CURRICULA), "Plants make sugar from light.",
              env_extra={"SUPERVISOR_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 1 and "unknown country 'xx'" in out.stderr and "known: jp" in out.stderr
    assert "decision" not in out.stdout
    out = run("lint", "--no-examples", str(FIXTURE_CURRICULA / "zz"))
    assert out.returncode == 1 and "zz: no such file or folder" in out.stderr


def test_lint_reports_file_line_and_exits_1(tmp_path):
    import shutil

    root = tmp_path / "curricula"
    shutil.copytree(FIXTURE_CURRICULA, root)
    path = root / "jp" / "terminology.yaml"
    path.write_text(path.read_text().replace("severity: medium", "severity: urgent"))
    out = run("lint", "--no-examples", str(root))
    assert out.returncode == 1
    assert f"{path}:5: rule jp.northern-territories-name: severity" in out.stdout


def test_lint_runs_examples_and_reports_failures_as_json(tmp_path):
    out = run("lint", "--json", str(FIXTURE_CURRICULA), env_extra={"SUPERVISOR_CACHE_DIR": str(tmp_path)})
    report = json.loads(out.stdout)
    # the fixture's tiny example sets are too small for leave-one-out: lint must say so, per rule
    assert out.returncode == 1 and not report["ok"]
    by_rule = {(r["rule"], r["curriculum"]): r for r in report["rules"]}
    assert by_rule[("jp.northern-territories-name", "jp")]["missed"] == []
    assert any("can never fire" in p["message"] for p in report["problems"])


def test_keys_issue_prints_once_and_stores_only_a_hash(tmp_path):
    db = tmp_path / "k.db"
    out = run("keys", "issue", "--school", "demo-jp", env_extra={"SUPERVISOR_DATABASE_URL": f"sqlite:///{db}"})
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip()
    assert key.startswith("sk-school-")
    assert key.encode() not in db.read_bytes()
    bad = run("keys", "issue", "--school", "nope", env_extra={"SUPERVISOR_DATABASE_URL": f"sqlite:///{db}"})
    assert bad.returncode == 1 and "unknown school 'nope'" in bad.stderr


def test_eval_command_scores_a_case_file(tmp_path):
    cases = tmp_path / "cases.jsonl"
    rows = [
        {"id": "a", "country": "jp", "lang": "ja", "grade": 8, "response": "択捉島は南クリル諸島と呼ばれるロシアの領土です。",
         "expected": ["rewrite", "flag"], "category": "official_terminology"},
        {"id": "b", "country": "la", "lang": "en", "response": "Photosynthesis makes sugar from light.",
         "expected": ["pass"], "category": "benign_lesson"},
    ]
    cases.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    out = run("eval", "--json", str(cases), "--curricula", str(FIXTURE_CURRICULA),
              env_extra={"SUPERVISOR_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["overall"] == {"n": 2, "recall": 1.0, "false_positive_rate": 0.0, "action_accuracy": 1.0,
                                 "f1": 1.0}
    assert result["cases"][1]["curriculum"].startswith("baseline@")   # no Lao curriculum: judged by baseline
    assert set(result["by_lang"]) == {"ja", "en"}
