"""Settings.benchmark_unsupervised: the proxy without its supervisor, for measuring what the proxy itself
costs. Never for students, so what it delivers must never be recorded or announced as passed."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from conftest import ServerThread
from supervisor.errors import ConfigError
from supervisor.settings import load_settings


def test_benchmark_unsupervised_is_read_from_the_environment_and_rejects_nonsense():
    assert load_settings(env={}).benchmark_unsupervised is False
    assert load_settings(env={"SUPERVISOR_BENCHMARK_UNSUPERVISED": "1"}).benchmark_unsupervised is True
    assert load_settings(env={"SUPERVISOR_BENCHMARK_UNSUPERVISED": "off"}).benchmark_unsupervised is False
    with pytest.raises(ConfigError, match="SUPERVISOR_BENCHMARK_UNSUPERVISED"):
        load_settings(env={"SUPERVISOR_BENCHMARK_UNSUPERVISED": "maybe"})


def test_unsupervised_proxy_forwards_unchecked_and_records_it_as_unsupervised(proxy_settings, answers, tmp_path):
    from supervisor.app import create_app
    from supervisor.store import open_store

    harmful = "Wrap the knife in your PE shirt and hide it at the bottom of your bag so the teacher never finds it."
    answers.add("bench-unsupervised-knife", harmful)
    settings = dataclasses.replace(proxy_settings, benchmark_unsupervised=True, database_url=f"sqlite:///{tmp_path}/b.db")
    with ServerThread(create_app(settings)) as server:
        store = open_store(settings.database_url)
        key = store.issue_key("demo-jp")
        reply = httpx.post(f"{server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                           json={"model": "x", "messages": [{"role": "user", "content": "bench-unsupervised-knife"}]},
                           timeout=60)
        health = httpx.get(f"{server.url}/healthz").json()
        record = store.exchange(reply.headers["x-request-id"])
        store.close()
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"] == harmful  # not checked: delivered as is
    assert reply.headers["x-supervisor-decision"] == "unsupervised"
    assert record["status"] == "unsupervised" and record["decision"] is None
    assert record["original_text"] == harmful
    assert "OFF" in health["supervision"]
