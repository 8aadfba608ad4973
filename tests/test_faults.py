"""Faults on a bad day: a record store that refuses writes, an upstream that answers a stream with something
that is not a stream, a connection that drops mid-answer. Nothing is lost quietly and nothing unchecked or
unrecorded is presented as decided: the official openai client against the real proxy, litellm and SQLite.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3

import httpx
import openai
import pytest

from conftest import ServerThread
from supervisor.demo.fake_openai import Gate
from supervisor.text.segment import split

LESSON = "Plants make sugar from light. They take in carbon dioxide and give out oxygen. Leaves are green."


@pytest.fixture(scope="module")
def own_proxy(proxy_settings, tmp_path_factory):
    """The proxy on a database of its own, so a test can make that database refuse writes."""
    from supervisor.app import create_app
    from supervisor.store import open_store

    db = tmp_path_factory.mktemp("faults") / "faults.db"
    settings = dataclasses.replace(proxy_settings, database_url=f"sqlite:///{db}")
    with ServerThread(create_app(settings)) as server:
        store = open_store(settings.database_url)
        server.key = store.issue_key("demo-jp", grade=6)
        server.store, server.db = store, db
        try:
            yield server
        finally:
            store.close()


@contextlib.contextmanager
def records_refused(db):
    """SQLite itself refuses every new record (as a read-only or full disk would) until the block ends."""
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TRIGGER refuse_records BEFORE INSERT ON exchanges "
                     "BEGIN SELECT RAISE(ABORT, 'the disk refused the write'); END")
    try:
        yield
    finally:
        with sqlite3.connect(db) as conn:
            conn.execute("DROP TRIGGER refuse_records")


def client(server, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=60)


def count_records(store) -> int:
    return len(store.exchanges(limit=10_000))


def test_a_stream_that_cannot_be_recorded_ends_in_an_error_not_a_decision(own_proxy, answers):
    answers.add("how plants feed", LESSON)
    before = count_records(own_proxy.store)
    chunks = []
    with records_refused(own_proxy.db), pytest.raises(openai.APIError) as failed:
        stream = client(own_proxy, own_proxy.key).chat.completions.create(
            model="any", stream=True, messages=[{"role": "user", "content": "how plants feed?"}])
        for chunk in stream:
            chunks.append(chunk)
    assert "could not be recorded" in str(failed.value)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == LESSON  # checked, released
    assert not any(getattr(c, "supervisor", None) for c in chunks)       # but never told a decision
    assert count_records(own_proxy.store) == before
    # the store is back: the next stream is recorded and ends with its decision
    text = ""
    for chunk in client(own_proxy, own_proxy.key).chat.completions.create(
            model="any", stream=True, messages=[{"role": "user", "content": "how plants feed?"}]):
        text += chunk.choices[0].delta.content or "" if chunk.choices else ""
        last = chunk
    assert text == LESSON and last.supervisor["decision"] == "pass"
    assert own_proxy.store.exchange(last.supervisor["request_id"])["decision"] == "pass"


def test_an_answer_that_cannot_be_recorded_is_a_503_not_a_500(own_proxy, answers):
    answers.add("how plants feed", LESSON)
    with records_refused(own_proxy.db):
        r = httpx.post(f"{own_proxy.url}/v1/chat/completions", timeout=60,
                       headers={"Authorization": f"Bearer {own_proxy.key}"},
                       json={"model": "x", "messages": [{"role": "user", "content": "how plants feed?"}]})
    assert r.status_code == 503
    error = r.json()["error"]
    assert error["code"] == "store_unavailable" and "disk refused the write" in error["message"]
    assert LESSON not in r.text                                   # an unrecorded answer is not delivered


NOT_A_STREAM = {
    "error JSON": ("application/json", json.dumps({"error": {"message": "quota exceeded", "type": "rate"}})),
    "truncated JSON": ("application/json", '{"id": "chatcmpl-1", "choices": [{"mess'),
    "HTML": ("text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "plain text": ("text/plain", "upstream overloaded, try later"),
    "a whole completion": ("application/json", json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "A whole answer."},
                     "finish_reason": "stop"}]})),
    "an empty event stream": ("text/event-stream", "data: [DONE]\n\n"),
}


@pytest.mark.parametrize("kind", list(NOT_A_STREAM))
def test_a_stream_answered_with_something_else_is_an_upstream_error(proxy, fake_upstream, issue_key, records, kind):
    fake_upstream.app.state.stream_body = NOT_A_STREAM[kind]
    raw = httpx.post(f"{proxy.url}/v1/chat/completions", timeout=60,
                     headers={"Authorization": f"Bearer {issue_key('demo-jp', 6)}"},
                     json={"model": "x", "stream": True, "messages": [{"role": "user", "content": "hello"}]})
    assert raw.status_code == 502, raw.text
    assert raw.json()["error"]["type"] == "upstream_error"
    rec = records(raw.headers["x-request-id"])
    assert rec["status"] == "upstream_error" and rec["decision"] is None and rec["delivered_text"] is None


def test_a_stream_cut_mid_answer_is_never_recorded_as_passed(proxy, fake_upstream, answers, issue_key, records):
    answers.add("leaves", LESSON)
    # the upstream pauses once the first sentence is out, until the client has it; then the connection drops
    after = -(-split(LESSON)[0].end // 5) + 1
    fake_upstream.app.state.gate = gate = Gate(after=after)
    fake_upstream.app.state.cut_after = after
    chunks = []
    with pytest.raises(openai.APIError):
        for chunk in client(proxy, issue_key("demo-jp", 6)).chat.completions.create(
                model="any", stream=True, messages=[{"role": "user", "content": "leaves?"}]):
            chunks.append(chunk)
            if chunk.choices and chunk.choices[0].delta.content:
                gate.open()
    released = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert released and LESSON.startswith(released) and released != LESSON
    rec = records(f"req-{chunks[0].id.removeprefix('chatcmpl-req-')}")
    assert rec["status"] == "upstream_error" and rec["decision"] is None
    assert rec["delivered_text"] == released
