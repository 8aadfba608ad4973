"""Hardening: every response carries security headers (static files and 404 pages included)."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize("path", ["/review/static/review.css", "/no-such-page", "/review/no-such-page", "/healthz"])
def test_every_response_carries_security_headers(review_server, path):
    r = httpx.get(f"{review_server.url}{path}", timeout=60)
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_sigterm_stops_the_server_with_a_check_in_flight_and_records_it(fake_upstream, answers, cache_dir,
                                                                        tmp_path):
    """`supervisor serve` judging an answer that takes minutes to check gets SIGTERM: it stops within its grace
    periods instead of waiting for the check, and the exchange is recorded as interrupted, not lost."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    from conftest import FIXTURE_CURRICULA, free_port, wait_until_ready
    from supervisor.store import open_store

    long_answer = "".join(f"Sentence {i} is about how green plants use light. " for i in range(20_000))
    answers.add("the longest lesson", long_answer)
    port, db = free_port(), tmp_path / "serve.db"
    env = {**os.environ, "SUPERVISOR_DATABASE_URL": f"sqlite:///{db}", "SUPERVISOR_PORT": str(port),
           "SUPERVISOR_UPSTREAM_MODEL": "openai/fake-model", "SUPERVISOR_UPSTREAM_API_BASE": f"{fake_upstream.url}/v1",
           "SUPERVISOR_UPSTREAM_API_KEY": "k", "SUPERVISOR_UPSTREAM_RETRIES": "0",
           "SUPERVISOR_CURRICULA_DIR": str(FIXTURE_CURRICULA), "SUPERVISOR_CACHE_DIR": str(cache_dir),
           "SUPERVISOR_RELOAD_INTERVAL": "0", "SUPERVISOR_MAX_JUDGED_CHARS": "5000000",
           "SUPERVISOR_MAX_REQUEST_BYTES": "5000000", "SUPERVISOR_SHUTDOWN_GRACE": "2"}
    server = subprocess.Popen([sys.executable, "-m", "supervisor", "serve"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_ready(server, port)  # it loads the model and compiles the curricula first
        store = open_store(f"sqlite:///{db}")
        key = store.issue_key("demo-jp", grade=6)
        store.close()
        answered: list = []

        def ask() -> None:
            try:
                answered.append(httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=600,
                                           headers={"Authorization": f"Bearer {key}"},
                                           json={"model": "x", "messages": [{"role": "user",
                                                                             "content": "the longest lesson"}]}))
            except httpx.TransportError as exc:
                answered.append(exc)

        client = threading.Thread(target=ask, daemon=True)
        client.start()
        while not fake_upstream.app.state.received:  # the upstream has answered: the long check is next
            assert client.is_alive(), answered
            time.sleep(0.05)
        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=90)  # a bound far above the grace periods (2 s each), far below the check's minutes
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    client.join(timeout=30)
    assert answered and not isinstance(answered[0], httpx.Response) or answered[0].status_code != 200
    store = open_store(f"sqlite:///{db}")
    try:
        rows = store.exchanges(limit=10)
    finally:
        store.close()
    assert len(rows) == 1 and rows[0]["status"] == "interrupted" and rows[0]["decision"] is None
    assert rows[0]["delivered_text"] is None
