"""What an operator's log shows: `supervisor serve` run as a process, read from its standard error.

JSON lines only; a `listening` line once it serves; exactly one `decision` line per decision, with request
id, school, country, decision, rules and latency, and never the student's text or personal data; no library
chatter (LiteLLM's per-call INFO lines, httpx's request lines) at the default level.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from conftest import FIXTURE_CURRICULA, free_port
from supervisor.settings import PROJECT_ROOT

pytestmark = pytest.mark.timeout(900)

STUDENT = "My email is taro.yamada@example.com and my phone is 090-1234-5678. How do plants make sugar?"
ANSWER = "Plants use sunlight to turn water and carbon dioxide into sugar."


class ServeProcess:
    """`python -m supervisor serve` with its standard error collected line by line as it comes."""

    def __init__(self, env: dict[str, str]):
        self.lines: list[str] = []
        self.process = subprocess.Popen([sys.executable, "-m", "supervisor", "serve"], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, event: str, deadline_s: float = 800) -> dict:
        """The first log event named `event`. A hang guard, not a timing assertion: a cold machine compiles
        the curricula for minutes before it listens."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if line.startswith("{") and json.loads(line).get("event") == event:
                    return json.loads(line)
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no {event!r} line; the log so far:\n" + "\n".join(self.lines[-30:]))

    def stop(self) -> list[str]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.reader.join(timeout=10)
        return self.lines


@pytest.fixture(scope="module")
def served_log(tmp_path_factory, fake_upstream, answers, cache_dir):
    answers.add("plants make sugar", ANSWER)
    tmp = tmp_path_factory.mktemp("logs")
    port = free_port()
    env = {**os.environ, "SUPERVISOR_PORT": str(port), "SUPERVISOR_DATABASE_URL": f"sqlite:///{tmp}/r.db",
           "SUPERVISOR_CURRICULA_DIR": str(FIXTURE_CURRICULA), "SUPERVISOR_CACHE_DIR": str(cache_dir),
           "SUPERVISOR_POLICIES_DIR": str(PROJECT_ROOT / "policies"), "SUPERVISOR_RELOAD_INTERVAL": "0",
           "SUPERVISOR_UPSTREAM_MODEL": "openai/fake-model", "SUPERVISOR_UPSTREAM_API_BASE": f"{fake_upstream.url}/v1",
           "SUPERVISOR_UPSTREAM_API_KEY": "sk-upstream", "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("SUPERVISOR_LOG_LEVEL", None)
    served = ServeProcess(env)
    try:
        listening = served.wait_for("listening")   # bound at once; requests get 503 "starting" until `ready`
        served.wait_for("ready")
        from supervisor.store import open_store

        store = open_store(env["SUPERVISOR_DATABASE_URL"])
        key = store.issue_key("demo-jp", grade=8)
        store.close()
        auth = {"Authorization": f"Bearer {key}"}
        base = f"http://127.0.0.1:{port}"
        request_ids = []
        for stream in (False, True):
            r = httpx.post(f"{base}/v1/chat/completions", headers=auth, timeout=120,
                           json={"model": "any", "stream": stream, "messages": [{"role": "user", "content": STUDENT}]})
            assert r.status_code == 200, r.text
            request_ids.append(r.headers["x-request-id"])
        r = httpx.post(f"{base}/v1/supervise", headers=auth, timeout=120,
                       json={"messages": [{"role": "user", "content": STUDENT}], "response": ANSWER})
        assert r.status_code == 200, r.text
        request_ids.append(r.json()["request_id"])
    finally:
        lines = served.stop()
    return listening, port, request_ids, lines


def test_serve_says_where_it_listens(served_log):
    listening, port, _, _ = served_log
    assert listening["url"] == f"http://127.0.0.1:{port}" and listening["level"] == "info"


def test_every_log_line_is_json_and_libraries_are_quiet(served_log):
    _, _, _, lines = served_log
    assert lines
    for line in lines:
        event = json.loads(line)  # a plain-text line (LiteLLM's own handler, uvicorn's) fails here
        assert "event" in event and "timestamp" in event, line
    text = "\n".join(lines)
    assert "completion() model=" not in text and "HTTP Request:" not in text


def test_exactly_one_structured_line_per_decision(served_log):
    _, _, request_ids, lines = served_log
    decisions = [json.loads(line) for line in lines if json.loads(line)["event"] == "decision"]
    assert sorted(d["request_id"] for d in decisions) == sorted(request_ids)
    for d in decisions:
        assert d["school"] == "demo-jp" and d["country"] == "jp" and d["decision"] == "pass"
        assert d["rules"] == [] and d["latency_ms"] > 0 and d["level"] == "info"


def test_the_log_never_holds_the_students_text_or_personal_data(served_log):
    _, _, _, lines = served_log
    text = "\n".join(lines)
    for secret in ("taro.yamada", "example.com", "090-1234-5678", "plants make sugar", "carbon dioxide",
                   "sk-upstream"):
        assert secret not in text
