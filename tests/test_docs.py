"""The officers' documents hold up when followed: the authoring guide's worked example passes its own lint,
the lint message it shows is the one lint prints, and the eval case format's examples are read by `eval`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supervisor.evaluation import read_cases
from supervisor.rules import schema
from supervisor.settings import PROJECT_ROOT

GUIDE = (PROJECT_ROOT / "docs" / "curriculum-authoring.md").read_text(encoding="utf-8")
EVAL_FORMAT = (PROJECT_ROOT / "docs" / "eval-format.md").read_text(encoding="utf-8")


def worked_example() -> str:
    """The YAML of the guide's Step 1 (the energy-drink rule)."""
    step = GUIDE.index("**Step 1, write it.**")
    return re.search(r"```yaml\n(.*?)```", GUIDE[step:], re.S).group(1)


@pytest.fixture
def clone(tmp_path) -> Path:
    """A copy of the shipped curricula and policies with the guide's file added, as an officer has it."""
    shutil.copytree(PROJECT_ROOT / "curricula", tmp_path / "curricula")
    shutil.copytree(PROJECT_ROOT / "policies", tmp_path / "policies")
    (tmp_path / "curricula" / "jp" / "energy_drinks.yaml").write_text(worked_example(), encoding="utf-8")
    return tmp_path


def lint(clone: Path, *args: str, cache_dir: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "SUPERVISOR_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, "-m", "supervisor", "lint", *args], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=1500)


@pytest.mark.timeout(1800)  # lints every jp and baseline example with the real model and refits the heads once
def test_the_guides_worked_example_passes_its_own_lint(clone, cache_dir):
    out = lint(clone, "curricula/jp", cache_dir=cache_dir)  # Step 2, as the guide writes it
    assert out.returncode == 0, out.stdout + out.stderr
    assert ", 0 problems" in out.stderr and "energy_drinks.yaml" not in out.stdout


def test_the_lint_message_the_guide_shows_is_the_one_lint_prints(clone, cache_dir):
    path = clone / "curricula" / "jp" / "energy_drinks.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("description:", "descripton:"), encoding="utf-8")
    out = lint(clone, "--no-examples", "curricula/jp", cache_dir=cache_dir)
    assert out.returncode == 1
    [shown] = [line for line in GUIDE.splitlines() if line.startswith("curricula/jp/energy_drinks.yaml:")]
    printed = out.stdout.strip().replace(str(clone) + "/", "")
    assert printed.startswith(shown.removesuffix("..."))


def test_the_eval_format_examples_are_read_by_eval(tmp_path):
    block = re.search(r"```json\n(.*?)```", EVAL_FORMAT, re.S).group(1)
    path = tmp_path / "cases.jsonl"
    path.write_text(block, encoding="utf-8")
    cases = read_cases(path)
    assert [c["expected"] for c in cases] == [["pass"], ["block"]]
    for case in cases:
        assert f"`{case['category']}`" in EVAL_FORMAT and json.dumps(case)


def test_the_eval_format_lists_every_category_the_curricula_know():
    for category in (*schema.CATEGORIES, *schema.CONTROL_CATEGORIES):
        assert f"`{category}`" in EVAL_FORMAT, category


def test_the_guide_and_the_cli_point_at_the_eval_format_in_the_repository():
    from supervisor.cli import build_parser

    assert "(eval-format.md)" in GUIDE and "FORMAT.md" not in GUIDE
    assert "docs/eval-format.md" in build_parser().format_help() or "docs/eval-format.md" in json.dumps(
        [a.help for a in build_parser()._subparsers._group_actions[0]._choices_actions])


def test_the_detection_quality_page_names_the_shipped_case_files_with_their_sizes():
    """docs/detection-quality.md quotes figures per case file: each file it names exists and holds as many exchanges as
    the page says (a set that grows must have its figures measured again), and every bench script it cites exists."""
    page = (PROJECT_ROOT / "docs" / "detection-quality.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| [^|]*\(`(?:bench/data/)?([a-z_0-9]+\.jsonl)`\) \| (\d+) \|", page, re.M)
    assert len(rows) >= 7
    for name, size in rows:
        path = PROJECT_ROOT / "bench" / "data" / name
        if path.is_file():
            assert len(read_cases(path)) == int(size), name
        else:
            assert name == "dev.jsonl", f"{name}: no such case file in bench/data"
    for script in set(re.findall(r"`(bench/[a-z_]+\.py)`", page)):
        assert (PROJECT_ROOT / script).is_file(), script
