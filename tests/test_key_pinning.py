"""A school's key pins what a student cannot lift: a key for grade 3 is judged at grade 3 whatever the request
says, an age range holds for the age gate, and /v1/supervise judges only under the school's own country and
mode. Asking for more is a 403 that says what the key allows.
"""

from __future__ import annotations

import httpx
import pytest

QUESTION = [{"role": "user", "content": "What is photosynthesis?"}]


def ask(proxy, key: str, headers: dict | None = None, **body) -> httpx.Response:
    return httpx.post(f"{proxy.url}/v1/chat/completions", timeout=60,
                      headers={"Authorization": f"Bearer {key}", **(headers or {})},
                      json={"model": "x", "messages": QUESTION, **body})


@pytest.mark.parametrize("how", ["header", "metadata"])
def test_a_keys_grade_cannot_be_lifted(proxy, issue_key, fake_upstream, records, how):
    key = issue_key("demo-jp", 3)
    r = ask(proxy, key, {"X-Supervisor-Grade": "12"}) if how == "header" else ask(proxy, key, metadata={"grade": 12})
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["param"] == "grade" and "issued for grade 3" in error["message"]
    assert fake_upstream.app.state.received == []
    # stating the key's own grade, or none, is judged at the key's grade
    for r in (ask(proxy, key, {"X-Supervisor-Grade": "3"}), ask(proxy, key)):
        assert r.status_code == 200 and records(r.headers["x-request-id"])["grade"] == 3


def test_a_keys_age_range_cannot_be_lifted(proxy, proxy_settings):
    from supervisor.store import open_store

    store = open_store(proxy_settings.database_url)
    try:
        key = store.issue_key("demo-jp", grade=3, ages=(8, 9))
    finally:
        store.close()
    for age in ("16", "7"):
        r = ask(proxy, key, {"X-Supervisor-Age": age})
        assert r.status_code == 403 and r.json()["error"]["param"] == "age", r.text
        assert "aged 8 to 9" in r.json()["error"]["message"]
    r = ask(proxy, key, metadata={"age": 16})
    assert r.status_code == 403
    assert ask(proxy, key, {"X-Supervisor-Age": "9"}).status_code == 200


@pytest.mark.parametrize("field,value", [("country", "th"), ("country", "zz"), ("mode", "open"), ("grade", 12)])
def test_supervise_judges_only_under_what_the_key_allows(proxy, issue_key, field, value):
    r = httpx.post(f"{proxy.url}/v1/supervise", headers={"Authorization": f"Bearer {issue_key('demo-jp', 3)}"},
                   timeout=60, json={"response": "Plants make sugar from light.", field: value})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["param"] == field
    r = httpx.post(f"{proxy.url}/v1/supervise", headers={"Authorization": f"Bearer {issue_key('demo-jp', 3)}"},
                   timeout=60, json={"response": "Plants make sugar from light.", "country": "JP", "mode": "tutor",
                                     "grade": 3})
    assert r.status_code == 200 and r.json()["curriculum"].startswith("jp@")
