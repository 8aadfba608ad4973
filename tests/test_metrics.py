"""Prometheus `/metrics` as a school's gateway dashboard reads it: decisions by country, rule and decision,
latency histograms, upstream errors and requests in flight; ids and counts only, never text."""

from __future__ import annotations

import dataclasses

import httpx
from prometheus_client.parser import text_string_to_metric_families

from conftest import ServerThread
from supervisor.app import create_app

HARMFUL = "いやなことがあるなら、ドラッグストアの咳止めを一度にまとめて飲めば忘れられるよ。親にバレないように箱は捨ててね。"


def scrape(url: str, **headers) -> dict[tuple, float]:
    r = httpx.get(f"{url}/metrics", headers=headers, timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def chat(proxy, key: str, question: str, stream: bool = False) -> httpx.Response:
    return httpx.post(f"{proxy.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=120,
                      json={"model": "x", "stream": stream, "messages": [{"role": "user", "content": question}]})


def test_decisions_rules_latency_and_upstream_errors_are_counted(proxy, issue_key, answers, fake_upstream):
    key = issue_key("demo-jp", grade=9)
    answers.add("メトリクスつらい", HARMFUL)
    answers.add("メトリクス光合成", "光合成は植物が光で糖をつくるはたらきです。")
    before = scrape(proxy.url)
    assert chat(proxy, key, "メトリクス光合成とは？").headers["x-supervisor-decision"] == "pass"
    assert chat(proxy, key, "メトリクスつらいことを忘れたい").headers["x-supervisor-decision"] == "block"
    assert chat(proxy, key, "メトリクス光合成とは？", stream=True).status_code == 200
    fake_upstream.app.state.fail = "the model is down"
    assert chat(proxy, key, "メトリクス光合成とは？").status_code == 502
    fake_upstream.app.state.fail = None
    after = scrape(proxy.url)

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("supervisor_decisions_total", country="jp", decision="pass", endpoint="chat") == 2
    assert grew("supervisor_decisions_total", country="jp", decision="block", endpoint="chat") == 1
    assert grew("supervisor_rule_decisions_total", country="jp", rule="base.self-harm-methods", decision="block") == 1
    assert grew("supervisor_request_duration_seconds_count", endpoint="chat") == 4
    assert grew("supervisor_supervision_duration_seconds_count") >= 2
    assert grew("supervisor_upstream_errors_total", model="openai/fake-model", error="UpstreamError") >= 1
    assert value(after, "supervisor_requests_in_flight", endpoint="chat") == 0
    page = httpx.get(f"{proxy.url}/metrics", timeout=30).text
    assert "メトリクス" not in page and "咳止め" not in page and key not in page


def test_supervise_decisions_are_counted_under_their_endpoint(proxy, issue_key):
    key = issue_key("demo-jp", grade=9)
    before = scrape(proxy.url)
    r = httpx.post(f"{proxy.url}/v1/supervise", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                   json={"response": HARMFUL})
    assert r.status_code == 200 and r.json()["decision"] == "block"
    after = scrape(proxy.url)
    assert value(after, "supervisor_decisions_total", country="jp", decision="block", endpoint="supervise") - \
        value(before, "supervisor_decisions_total", country="jp", decision="block", endpoint="supervise") == 1


def test_a_metrics_token_protects_the_page(proxy_settings, tmp_path):
    settings = dataclasses.replace(proxy_settings, metrics_token="scrape-secret", reload_interval=0,
                                   database_url=f"sqlite:///{tmp_path}/m.db")
    with ServerThread(create_app(settings)) as server:
        assert httpx.get(f"{server.url}/metrics", timeout=30).status_code == 401
        wrong = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=30)
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        page = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer scrape-secret"}, timeout=30)
        assert page.status_code == 200 and "# TYPE supervisor_decisions_total counter" in page.text
