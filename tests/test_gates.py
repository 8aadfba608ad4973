"""Age gate and exam windows: enforced before anything goes upstream, answered with a refusal the student
understands, and recorded."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from supervisor.errors import ConfigError
from supervisor.gate import ExamWindow, check_gates

NOW = datetime(2025, 3, 10, 1, 0, tzinfo=UTC)
WINDOW = ExamWindow(NOW - timedelta(hours=1), NOW + timedelta(hours=1), ("3-A",))


def gate(**kw):
    args = {"min_age": None, "exam_windows": (), "age": None, "grade": 6, "class_id": None, "at": NOW, "lang": "ja"}
    return check_gates(**{**args, **kw})


def test_age_gate_uses_the_stated_age_else_the_grade():
    assert gate(min_age=13, grade=6).rule == "policy.min-age"             # grade 6: about 11
    assert gate(min_age=13, grade=8) is None                               # grade 8: about 13
    assert gate(min_age=13, grade=6, age=13) is None                       # stated age wins
    refusal = gate(min_age=13, grade=6, lang="vi")
    assert refusal.message.startswith("Xin lỗi") and "below the policy's min_age 13" in refusal.reason


def test_exam_window_covers_its_classes_and_time_only():
    assert gate(exam_windows=(WINDOW,), class_id="3-A").message == "試験中のため、2025-03-10 02:00まで回答は停止しています。がんばってください！"
    assert gate(exam_windows=(WINDOW,), class_id="3-B") is None
    assert gate(exam_windows=(WINDOW,), class_id="3-A", at=NOW + timedelta(hours=2)) is None
    whole = dataclasses.replace(WINDOW, classes=())
    assert gate(exam_windows=(whole,), class_id=None, lang="th").message.startswith("ระหว่างการสอบ")


def test_exam_window_needs_a_time_zone(tmp_path):
    from supervisor.policy import load_policies

    (tmp_path / "schools.yaml").write_text(
        "schema_version: 1\nschools:\n  - id: s1\n    name: S\n    country: jp\n    grades: [1, 6]\n"
        "    exam_windows:\n      - {start: 2025-03-10T09:00:00, end: 2025-03-10T12:00:00}\n")
    with pytest.raises(ConfigError) as err:
        load_policies(tmp_path)
    assert "schools.yaml:8" in str(err.value) and "has no time zone" in str(err.value)


@pytest.fixture(scope="module")
def gated_proxy(proxy_settings, tmp_path_factory):
    from conftest import ServerThread
    from supervisor.app import create_app
    from supervisor.settings import PROJECT_ROOT
    from supervisor.store import open_store

    folder = tmp_path_factory.mktemp("gated")
    policies = folder / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", policies)
    text = (policies / "policies.yaml").read_text().replace("    regenerate_attempts: 2\n",
                                                            "    regenerate_attempts: 2\n    min_age: 10\n", 1)
    (policies / "policies.yaml").write_text(text)
    start, end = (datetime.now(UTC) + timedelta(hours=h) for h in (-1, 1))
    schools = (policies / "schools.yaml").read_text().replace(
        "    roster: rosters/demo-th.yaml", f"    roster: rosters/demo-th.yaml\n    exam_windows:\n"
        f"      - {{start: '{start.isoformat()}', end: '{end.isoformat()}', classes: [3-A]}}")
    (policies / "schools.yaml").write_text(schools)
    settings = dataclasses.replace(proxy_settings, policies_dir=policies, database_url=f"sqlite:///{folder}/g.db")
    with ServerThread(create_app(settings)) as server:
        server.store = open_store(settings.database_url)
        yield server
        server.store.close()


def ask(server, key: str, text: str, stream: bool = False, **headers) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/chat/completions", timeout=60,
                      headers={"Authorization": f"Bearer {key}", **headers},
                      json={"model": "x", "stream": stream, "messages": [{"role": "user", "content": text}]})


@pytest.mark.parametrize("stream", [False, True])
def test_too_young_students_get_a_refusal_and_nothing_goes_upstream(gated_proxy, fake_upstream, stream):
    key = gated_proxy.store.issue_key("demo-jp", grade=3)                  # about 8 years old; min_age 10
    r = ask(gated_proxy, key, "てこのしくみを教えて", stream)
    assert r.status_code == 200 and r.headers["x-supervisor-decision"] == "block"
    assert r.headers["x-supervisor-rules"] == "policy.min-age"
    assert "先生に聞いてください" in r.text and "generated-by=supervisor" in r.headers["x-supervisor-ai-disclosure"]
    assert fake_upstream.app.state.received == []
    rec = gated_proxy.store.exchange(r.headers["x-request-id"])
    assert rec["status"] == "refused" and rec["decision"] == "block" and "min_age 10" in rec["error"]
    assert gated_proxy.store.audit_verify().ok
    # the same student, with an age the school's app vouches for, gets an answer
    r = ask(gated_proxy, key, "てこのしくみを教えて", **{"X-Supervisor-Age": "11"})
    assert r.headers["x-supervisor-decision"] == "pass" and len(fake_upstream.app.state.received) == 1


def test_exam_window_switches_answers_off_for_its_class(gated_proxy, fake_upstream):
    key = gated_proxy.store.issue_key("demo-th", grade=9)
    r = ask(gated_proxy, key, "การสังเคราะห์ด้วยแสงคืออะไร", **{"X-Supervisor-Class": "3-A"})
    assert r.headers["x-supervisor-rules"] == "policy.exam-window"
    assert r.json()["choices"][0]["message"]["content"].startswith("ระหว่างการสอบ")
    assert r.json()["choices"][0]["finish_reason"] == "content_filter"
    assert fake_upstream.app.state.received == []
    r = ask(gated_proxy, key, "การสังเคราะห์ด้วยแสงคืออะไร", **{"X-Supervisor-Class": "3-B"})
    assert r.headers["x-supervisor-decision"] == "pass"
    r = ask(gated_proxy, key, "hi", **{"X-Supervisor-Age": "old"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "age"
