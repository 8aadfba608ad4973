"""Size limits: a request over the byte limit is refused before it is parsed, a student message over the
characters the supervisor judges is refused before anything is judged, and an answer over that limit is
refused whole, streamed or not: never judged in part and released, never released unchecked.
"""

from __future__ import annotations

import dataclasses

import httpx
import openai
import pytest

from conftest import ServerThread

MAX_BYTES, MAX_CHARS = 4_000, 300
SENTENCE = "Plants make sugar from light and water. "        # 40 characters
LONG_ANSWER = SENTENCE * 20                                  # 800 characters, past MAX_CHARS


@pytest.fixture(scope="module")
def small(proxy_settings, tmp_path_factory):
    """The proxy with small limits, on its own database."""
    from supervisor.app import create_app
    from supervisor.store import open_store

    db = tmp_path_factory.mktemp("limits") / "limits.db"
    settings = dataclasses.replace(proxy_settings, database_url=f"sqlite:///{db}", max_request_bytes=MAX_BYTES,
                                   max_judged_chars=MAX_CHARS)
    with ServerThread(create_app(settings)) as server:
        server.store = open_store(settings.database_url)
        server.key = server.store.issue_key("demo-jp", grade=6)
        try:
            yield server
        finally:
            server.store.close()


def send(server, body) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {server.key}"},
                      timeout=60, json=body)


def test_a_body_over_the_byte_limit_is_a_413_before_parsing(small, fake_upstream):
    r = send(small, {"model": "x", "messages": [{"role": "user", "content": "x" * MAX_BYTES}]})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
    assert "SUPERVISOR_MAX_REQUEST_BYTES" in r.json()["error"]["message"]

    def chunked():  # no Content-Length: the limit holds while reading
        yield b'{"model": "x", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}]}'

    r = httpx.post(f"{small.url}/v1/chat/completions", content=chunked(), timeout=60,
                   headers={"Authorization": f"Bearer {small.key}", "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
    assert fake_upstream.app.state.received == []


def test_a_student_message_over_the_judged_limit_is_a_413(small, fake_upstream):
    r = send(small, {"model": "x", "messages": [{"role": "user", "content": "why? " * 100}]})
    assert r.status_code == 413 and "SUPERVISOR_MAX_JUDGED_CHARS" in r.json()["error"]["message"]
    assert fake_upstream.app.state.received == []
    r = httpx.post(f"{small.url}/v1/supervise", headers={"Authorization": f"Bearer {small.key}"}, timeout=60,
                   json={"response": LONG_ANSWER})
    assert r.status_code == 413 and r.json()["error"]["param"] == "`response`"


def test_a_review_form_over_the_byte_limit_is_a_413(small):
    r = httpx.post(f"{small.url}/review/login", data={"username": "a", "password": "p" * MAX_BYTES}, timeout=60)
    assert r.status_code == 413


def test_an_answer_over_the_limit_is_refused_whole(small, answers):
    answers.add("tell me everything", LONG_ANSWER)
    r = send(small, {"model": "x", "messages": [{"role": "user", "content": "tell me everything"}]})
    assert r.status_code == 200 and r.headers["x-supervisor-decision"] == "block"
    assert r.headers["x-supervisor-rules"] == "policy.answer-length"
    assert SENTENCE not in r.json()["choices"][0]["message"]["content"]
    rec = small.store.exchange(r.headers["x-request-id"])
    assert rec["decision"] == "block" and rec["rules"] == ["policy.answer-length"]
    assert rec["original_text"] == LONG_ANSWER and "SUPERVISOR_MAX_JUDGED_CHARS" in rec["error"]


def test_a_streamed_answer_over_the_limit_ends_in_the_refusal(small, answers):
    answers.add("tell me everything", LONG_ANSWER)
    c = openai.OpenAI(base_url=f"{small.url}/v1", api_key=small.key, max_retries=0, timeout=60)
    chunks = list(c.chat.completions.create(model="x", stream=True,
                                            messages=[{"role": "user", "content": "tell me everything"}]))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    # what was released before the refusal (nothing, when the upstream outran the first check: a busy machine)
    released = text.rpartition("\n\n")[0]
    assert len(released) <= MAX_CHARS and LONG_ANSWER.startswith(released)   # checked sentences only
    assert text != LONG_ANSWER and chunks[-1].supervisor["decision"] == "block"
    assert chunks[-1].supervisor["rules"] == ["policy.answer-length"]
    rec = small.store.exchange(chunks[-1].supervisor["request_id"])
    assert rec["decision"] == "block" and rec["delivered_text"] == text
    assert len(rec["original_text"]) <= MAX_CHARS                        # the upstream was not read past it
