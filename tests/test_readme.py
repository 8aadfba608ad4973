"""Every command the README shows, run as a newcomer would run it, and a test that fails when one is not.

"Commands" are the lines of the README's ```sh blocks, its ```python blocks, and the synopsis lines of its
command list (lines starting `supervisor `). The shell lines run for real with bash in a scratch folder (the
newcomer's clone: its `.venv` is the interpreter running these tests, which under `.ci/run` is the clone's
own `.venv`), against a real `supervisor serve` on the demo upstream; `localhost:8000` and the inspector's
`https://proxy.example` become that server's address. Two lines are not run here, and their tests say how
they are covered instead: the test-suite command (CI runs it: `.ci/run` is that line, checked verbatim) and
the fresh-clone install (`pip install -e .`, checked with pip's offline `--dry-run`; CI installs for real).
A synopsis line is checked against the parser: its command exists and every option it shows is accepted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import FIXTURE_CURRICULA, free_port
from supervisor.cli import build_parser
from supervisor.settings import PROJECT_ROOT

pytestmark = pytest.mark.timeout(900)

README = PROJECT_ROOT / "README.md"
PASSWORD = "correct horse battery staple"
INSPECTOR = "https://proxy.example"


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)]


def shell_commands(text: str) -> list[str]:
    """The command lines of the ```sh blocks: continuations joined, comments dropped."""
    commands = []
    for lang, body in fenced_blocks(text):
        if lang != "sh":
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s{2,}#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(re.sub(r"\s+", " ", line))
    return commands


def python_snippets(text: str) -> list[str]:
    return [body for lang, body in fenced_blocks(text) if lang == "python"]


def synopses(text: str) -> list[str]:
    return [line.split("  #")[0].strip() for lang, body in fenced_blocks(text) if lang == ""
            for line in body.splitlines() if line.startswith("supervisor ")]


TEXT = README.read_text(encoding="utf-8")
TEST_SUITE = next(c for c in shell_commands(TEXT) if "pytest" in c)
FRESH_CLONE = next(c for c in shell_commands(TEXT) if "pip install -e ." in c)
# the "Compare models" block runs as written, in bash, in tests/test_compare.py (it needs its own fake upstream)
COMPARE_SECTION = "Compare models"
COMPARE = shell_commands(TEXT.split(f"\n## {COMPARE_SECTION}\n", 1)[1].split("\n## ", 1)[0])


class Newcomer:
    """A scratch clone folder where README lines run in bash, and a served proxy they talk to."""

    def __init__(self, home: Path, port: int, env: dict[str, str]):
        self.home, self.port, self.env = home, port, env
        self.ran: list[str] = []
        self.server: subprocess.Popen | None = None
        self.log: list[str] = []

    def shell(self, *commands: str, extra_env: dict[str, str] | None = None, then: str = "") -> str:
        """Run README lines as written, in one bash (so a variable one exports reaches the next), with the
        server's address for localhost:8000, then `then`; their stdout."""
        script = "\n".join(["set -e", *commands, then]).replace("localhost:8000", f"127.0.0.1:{self.port}")
        out = subprocess.run(["bash", "-c", script.replace(INSPECTOR, f"http://127.0.0.1:{self.port}")],
                             cwd=self.home, env={**self.env, **(extra_env or {})}, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, f"README commands failed: {commands}\n{out.stdout}\n{out.stderr}"
        self.ran.extend(commands)
        return out.stdout

    def serve(self, command: str, extra_env: dict[str, str] | None = None) -> None:
        """Start a README `serve` line and wait for its `ready` line, which says where it listens once it can
        judge (it listens at once, `listening`, and answers 503 "starting" until then; a hang guard, not a
        timing assertion: a cold machine compiles the shipped curricula for minutes)."""
        self.log = []
        self.server = subprocess.Popen(["bash", "-c", command], cwd=self.home, env={**self.env, **(extra_env or {})},
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                       start_new_session=True)  # its own group: SIGTERM reaches the server
        threading.Thread(target=lambda: self.log.extend(self.server.stderr), daemon=True).start()
        deadline = time.monotonic() + 800
        while not any('"ready"' in line for line in self.log):
            assert self.server.poll() is None and time.monotonic() < deadline, "".join(self.log[-20:])
            time.sleep(0.2)
        self.ran.append(command)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(timeout=60)


def _clone_env(home: Path, port: int, cache_dir: Path) -> dict[str, str]:
    venv = home / ".venv"
    venv.symlink_to(Path(sys.prefix))  # the newcomer's .venv: the interpreter running these tests
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERVISOR_")}
    return {**env, "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}", "PYTHONPATH": str(PROJECT_ROOT),
            "SUPERVISOR_PORT": str(port), "SUPERVISOR_CACHE_DIR": str(cache_dir),
            "SUPERVISOR_RELOAD_INTERVAL": "0", "PASSWORD": PASSWORD}


def exact_line(command: str) -> str:
    assert command in shell_commands(TEXT), f"the README no longer shows {command!r}"
    return command


def readme_line(*needles: str) -> str:
    """The one README shell line containing every needle."""
    [line] = [c for c in shell_commands(TEXT) if all(n in c for n in needles)]
    return line


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory, cache_dir, fake_upstream):
    home = tmp_path_factory.mktemp("clone")
    port = free_port()
    you = Newcomer(home, port, _clone_env(home, port, cache_dir))
    results = {}
    try:
        you.serve(FRESH_CLONE.split(" && ")[-1])  # `.venv/bin/supervisor serve`: the demo, shipped curricula
        # Try it: a key, then curl; the -i answer is saved as verify-response's file format
        try_it = [c for c in shell_commands(TEXT) if "keys issue" in c or "/v1/chat/completions" in c]
        raw = you.shell(*try_it, then='printf %s "$KEY" > key.txt')
        results["curl"] = raw
        head, _, body = raw.replace("\r\n", "\n").partition("\n\n")
        headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
        (home / "answer.json").write_text(json.dumps({"headers": headers, "body": json.loads(body)}))
        # the Python example, pasted into Python as it stands, with the key the shell line above exported
        [snippet] = python_snippets(TEXT)
        out = subprocess.run([sys.executable, "-"], input=snippet.replace("localhost:8000", f"127.0.0.1:{port}"),
                             cwd=home, env={**you.env, "KEY": (home / "key.txt").read_text()}, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        results["python"] = out.stdout
        results["users"] = [you.shell(readme_line("users add", name)) for name in ("sato", "moe")]
        results["login"] = httpx.post(f"http://127.0.0.1:{port}/review/login", timeout=30,
                                      data={"username": "sato", "password": PASSWORD}).status_code
        results["verify_response"] = you.shell(readme_line("verify-response"))
        you.shell(readme_line("curl -s", "supervisor-keys.json"))
        you.stop()  # the final checkpoint signs the chain's tail
        results["verify"] = you.shell(exact_line("supervisor audit verify"))
        you.shell(readme_line("audit export"))
        you.shell(readme_line("--bundle"))
        # the one-line switch to a real model, pointed at the fake OpenAI-compatible server on this machine
        # (the same litellm provider; no key for the real one here) and at the small test curricula
        you.serve(readme_line("SUPERVISOR_UPSTREAM_MODEL=openai/gpt-4o-mini"),
                  {"SUPERVISOR_UPSTREAM_API_BASE": f"{fake_upstream.url}/v1",
                   "SUPERVISOR_CURRICULA_DIR": str(FIXTURE_CURRICULA),
                   "SUPERVISOR_DATABASE_URL": f"sqlite:///{home}/real.db"})
        from supervisor.store import open_store

        store = open_store(f"sqlite:///{home}/real.db")
        real_key = store.issue_key("demo-jp", grade=8)
        store.close()
        results["real"] = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=120,
                                     headers={"Authorization": f"Bearer {real_key}"},
                                     json={"model": "any", "messages": [{"role": "user", "content": "光合成とは？"}]})
        results["upstream_asked_for"] = fake_upstream.app.state.received[-1]["model"]
    finally:
        you.stop()
    results["ran"] = you.ran
    return results


def test_every_readme_command_is_run_by_a_test(newcomer):
    """A command added to the README fails here until the scenario above runs it."""
    covered_elsewhere = {TEST_SUITE, FRESH_CLONE, *COMPARE}  # see the two tests below, and test_compare's
    assert COMPARE and f'_readme_block("{COMPARE_SECTION}")' in (Path(__file__).parent / "test_compare.py").read_text(
        encoding="utf-8")
    not_run = [c for c in shell_commands(TEXT) if c not in newcomer["ran"] and c not in covered_elsewhere]
    assert not not_run, "README commands no test runs (add them to tests/test_readme.py): " + "; ".join(not_run)


def test_try_it_answers_with_the_readmes_decision(newcomer):
    head = newcomer["curl"].split("\r\n\r\n")[0].lower()
    assert " 200 " in head.splitlines()[0]
    assert "x-supervisor-decision: rewrite" in head and "x-supervisor-curriculum: jp@" in head


def test_the_python_example_runs_when_pasted(newcomer):
    assert "てこ" in newcomer["python"]


def test_review_accounts_from_the_readme_can_sign_in(newcomer):
    assert newcomer["login"] == 303


def test_the_audit_and_signature_commands_verify(newcomer):
    assert newcomer["verify_response"] == "" or "FAILED" not in newcomer["verify_response"]
    assert "FAILED" not in newcomer["verify"]


def test_switching_to_a_real_model_is_one_line(newcomer):
    r = newcomer["real"]
    assert r.status_code == 200 and r.headers["x-supervisor-decision"] == "pass", r.text
    assert newcomer["upstream_asked_for"] == "gpt-4o-mini"  # the model the line names, through litellm's openai/


def test_the_test_suite_command_is_what_ci_runs():
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST_SUITE in ci.splitlines(), "README's test command and .ci/run have drifted apart"


def test_the_fresh_clone_install_is_sound():
    """`pip install -e .` from the first command, as far as it can be checked offline: setuptools accepts the
    project's configuration, the `supervisor` script it installs is the CLI, and every dependency it names is
    importable here. (CI's `.ci/run` runs the install for real, into a fresh `.venv`.)"""
    import importlib.util
    import tomllib

    from setuptools.config.pyprojecttoml import read_configuration

    venv, install, serve = FRESH_CLONE.split(" && ")
    assert (venv, install, serve) == ("python3 -m venv .venv", ".venv/bin/pip install -e .",
                                      ".venv/bin/supervisor serve")
    config = read_configuration(PROJECT_ROOT / "pyproject.toml")  # validates it as pip's build would
    assert config["project"]["scripts"] == {"supervisor": "supervisor.cli:main"}
    imports = {"pyyaml": "yaml", "psycopg[binary]": "psycopg", "cryptography": "cryptography"}
    for requirement in tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        name = re.split(r"[<>=!~ ]", requirement)[0]
        module = imports.get(name, name.replace("-", "_"))
        assert importlib.util.find_spec(module), f"{requirement} is declared but not installed"


@pytest.mark.parametrize("synopsis", synopses(TEXT))
def test_every_command_in_the_readmes_list_exists_with_the_options_it_shows(synopsis):
    words = synopsis.split()[1:]
    parser, path = build_parser(), []
    known = {option for action in parser._actions for option in action.option_strings}  # --config: any command
    while words and not words[0].startswith(("[", "-")) and _subcommands(parser).get(words[0]):
        parser = _subcommands(parser)[words[0]]
        path.append(words.pop(0))
    assert path, f"{synopsis}: no such command"
    known |= {option for action in parser._actions for option in action.option_strings}
    shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", synopsis))
    assert shown <= known, f"{synopsis}: options the parser does not accept: {sorted(shown - known)}"


def _subcommands(parser) -> dict:
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}
