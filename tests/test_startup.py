"""Start-up that respects people: the server listens at once and says "starting" until it can judge, a long
embedding job reports its progress, and the last start-up line says where the server listens."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import subprocess
import sys

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from conftest import FIXTURE_CURRICULA, PROJECT_ROOT, free_port, wait_until_ready
from supervisor.app import create_app
from supervisor.models.embedder import PROGRESS_MIN, CachedEmbedder, HashingEmbedder
from supervisor.settings import Settings
from supervisor.startup import Startup


def test_until_ready_healthz_says_starting_and_requests_get_a_retryable_503(tmp_path):
    asyncio.run(_starting(tmp_path))


async def _starting(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/x.db", curricula_dir=FIXTURE_CURRICULA))
    app.state.startup = Startup(phase="compiling the curricula (embedding their sentences)")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy") as client:
        health = await client.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "starting"
        assert "compiling" in health.json()["phase"]
        answer = await client.post("/v1/chat/completions", json={"model": "any", "messages": []})
        assert answer.status_code == 503 and answer.headers["retry-after"]
        assert answer.json()["error"]["code"] == "starting"
        app.state.startup.error, app.state.startup.done = "ConfigError: broken", True
        failed = await client.get("/healthz")
        assert failed.status_code == 503 and failed.json()["status"] == "failed"
        assert (await client.get("/v1/models")).json()["error"]["code"] == "start_failed"


@pytest.fixture
def info_logged():
    """Log at info whatever an earlier command in this process configured (compare runs at `warning`)."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    yield
    structlog.configure(**saved)


def test_a_bulk_embedding_job_reports_count_and_rate(info_logged):
    embedder = CachedEmbedder(HashingEmbedder())
    with capture_logs() as logs:
        embedder.embed([f"sentence number {i}" for i in range(PROGRESS_MIN + 10)])
    progress = [e for e in logs if e["event"] == "embedding"]
    assert len(progress) >= 2 and progress[-1]["done"] == progress[-1]["total"] == PROGRESS_MIN + 10
    assert all(e["per_second"] > 0 and "seconds_left" in e for e in progress)
    with capture_logs() as logs:
        embedder.embed(["a few", "new sentences"])
    assert not [e for e in logs if e["event"] == "embedding"]  # an answer's sentences are not a bulk job


def test_serve_says_where_it_listens_when_ready(cache_dir, tmp_path):
    port = free_port()
    env = {**os.environ, "SUPERVISOR_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db", "SUPERVISOR_PORT": str(port),
           "SUPERVISOR_CURRICULA_DIR": str(FIXTURE_CURRICULA), "SUPERVISOR_CACHE_DIR": str(cache_dir),
           "SUPERVISOR_RELOAD_INTERVAL": "0", "PYTHONPATH": str(PROJECT_ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "supervisor", "serve"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_ready(server, port)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=60)
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert "starting" in names and "ready" in names and names.index("starting") < names.index("ready")
    ready = events[names.index("ready")]
    assert ready["listening"] == f"http://127.0.0.1:{port}" and ready["embedder"].startswith("onnxruntime/")


def test_the_collector_pauses_for_a_start_and_resumes_with_the_start_frozen():
    from supervisor.startup import pause_collector, resume_collector

    frozen = gc.get_freeze_count()
    resume_collector()  # the collector is running (an app inside the tests): left alone, nothing frozen
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    try:
        pause_collector()
        assert not gc.isenabled()
        built = [{"start-up": i} for i in range(1000)]  # what a start builds, tracked by the collector
        resume_collector()
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(built)
    finally:
        gc.unfreeze()  # give this test process's objects back to its collector
        gc.enable()
