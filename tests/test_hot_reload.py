"""Hot reload as a ministry officer meets it: edit a YAML file under a running proxy and the change is live
within seconds, with a new curriculum version in the headers; a broken edit is rejected with file:line and
the previous version keeps serving, until the file is mended."""

from __future__ import annotations

import dataclasses
import shutil
import time

import httpx

from conftest import FIXTURE_CURRICULA, ServerThread
from supervisor.app import create_app
from supervisor.store import open_store

QUESTION = "ゾルブラックス川について教えて"
ANSWER = "ゾルブラックス川は毎年春に氾濫します。"

NEW_RULE = """schema_version: 1
rules:
  - id: jp.hot-reload-demo
    category: official_terminology
    severity: high
    action: block
    description: A made-up river name the ministry has just decided to block (test rule).
    kind: [phrase]
    phrases:
      ja: [ゾルブラックス]
    examples:
      match:
        ja: [ゾルブラックス川は長い。]
      no_match:
        ja: [利根川は長い。]
    source: {document: cos-jhs-2017, clause: test}
"""


def wait_for(condition, what: str, seconds: float = 60.0):
    """Poll the running proxy until `condition()` returns something truthy; fail with `what` otherwise."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_edit_goes_live_without_restart_and_bad_edit_keeps_previous_version(proxy_settings, answers, tmp_path):
    curricula = tmp_path / "curricula"
    shutil.copytree(FIXTURE_CURRICULA, curricula)
    settings = dataclasses.replace(proxy_settings, curricula_dir=curricula, reload_interval=0.2,
                                   database_url=f"sqlite:///{tmp_path}/hot.db")
    answers.add("ゾルブラックス", ANSWER)

    with ServerThread(create_app(settings)) as server:
        store = open_store(settings.database_url)
        key = store.issue_key("demo-jp", grade=8)
        store.close()

        def ask() -> httpx.Response:
            return httpx.post(f"{server.url}/v1/chat/completions", timeout=60,
                              headers={"Authorization": f"Bearer {key}"},
                              json={"model": "x", "messages": [{"role": "user", "content": QUESTION}]})

        def health() -> dict:
            return httpx.get(f"{server.url}/healthz", timeout=10).json()

        before = ask()
        assert before.status_code == 200
        assert before.headers["X-Supervisor-Decision"] == "pass"
        old_version = before.headers["X-Supervisor-Curriculum"]

        # 1. The officer adds a rule file: the running proxy picks it up, with a new version.
        (curricula / "jp" / "hot.yaml").write_text(NEW_RULE, encoding="utf-8")
        wait_for(lambda: f"jp@{health()['curricula']['jp']}" != old_version, "the new curriculum version")
        after = ask()
        assert after.headers["X-Supervisor-Decision"] == "block"
        assert after.headers["X-Supervisor-Rules"] == "jp.hot-reload-demo"
        new_version = after.headers["X-Supervisor-Curriculum"]
        assert new_version != old_version
        assert "ゾルブラックス" not in after.json()["choices"][0]["message"]["content"]
        # the new version's rule texts are kept, for review pages that show an item as the version judged it
        kept = open_store(settings.database_url)
        try:
            wait_for(lambda: kept.rule_text(new_version, "jp.hot-reload-demo"), "the new version's rule texts")
            assert kept.rule_text(old_version, "jp.hot-reload-demo") is None
            assert kept.rule_text(old_version, "base.weapons-concealment")["descriptions"]["ja"]
        finally:
            kept.close()

        # 2. A typo (an unknown key) is rejected with file:line; the last good version keeps serving.
        (curricula / "jp" / "hot.yaml").write_text(NEW_RULE.replace("severity: high", "severity: high\n    sevrity: low"),
                                                   encoding="utf-8")
        error = wait_for(lambda: health()["curriculum_error"], "the rejected edit to be reported")
        assert "hot.yaml:" in error and "sevrity" in error
        assert health()["status"] == "degraded"            # so a monitor notices the rejected change
        still = ask()
        assert still.headers["X-Supervisor-Curriculum"] == new_version
        assert still.headers["X-Supervisor-Decision"] == "block"

        # 3. Removing the rule again goes live and clears the error.
        (curricula / "jp" / "hot.yaml").unlink()
        wait_for(lambda: not health()["curriculum_error"] and f"jp@{health()['curricula']['jp']}" == old_version,
                 "the original version to come back")
        assert ask().headers["X-Supervisor-Decision"] == "pass"
        assert health()["status"] == "ok"


def test_a_new_rule_is_live_with_the_serving_heads_then_refitted_heads_are_swapped_in(tmp_path, cache_dir):
    """What makes reload take seconds, not minutes: the new rulebook reuses unchanged countries and the serving
    heads (refitting them takes minutes over every curriculum and the public-data bank), and the heads are
    refitted in the background. Seconds are measured by bench/hot_reload.py, not asserted here."""
    import asyncio

    from supervisor.policy import DEFAULT_POLICY
    from supervisor.rules.rulebook import RulebookHolder
    from supervisor.services import make_embedder, make_supervisor, rulebook_options
    from supervisor.settings import Settings

    curricula = tmp_path / "curricula"
    shutil.copytree(FIXTURE_CURRICULA, curricula)
    settings = Settings(curricula_dir=curricula, cache_dir=cache_dir)
    embedder = make_embedder(settings)
    holder = RulebookHolder(curricula, embedder.embed, **rulebook_options(settings, embedder))
    before, serving_heads = holder.current, holder.heads
    assert serving_heads is not None
    supervisor = make_supervisor(settings, embedder)

    def decision() -> str:
        verdict = supervisor.check_sync(holder.current.for_country("jp"), DEFAULT_POLICY, response=ANSWER, grade=8)
        return verdict.decision, verdict.rules

    assert decision()[0] == "pass"
    (curricula / "jp" / "hot.yaml").write_text(NEW_RULE.replace("kind: [phrase]", "kind: [phrase, semantic]"),
                                               encoding="utf-8")

    async def reload_then_refit():
        assert await holder.reload_if_changed()
        live = (holder.heads, decision(), holder.current)
        deadline = time.monotonic() + 600  # a hang guard for the background refit, not a timing assertion
        while holder.heads_refitted < 1:
            assert time.monotonic() < deadline, "the heads were never refitted"
            await asyncio.sleep(0.2)
        return live

    heads_when_live, decided_when_live, live = asyncio.run(reload_then_refit())
    assert heads_when_live is serving_heads                      # live before any refit
    assert decided_when_live == ("block", ["jp.hot-reload-demo"])
    assert live.compiled["baseline"].index is before.compiled["baseline"].index   # unchanged: not indexed again
    assert live.compiled["jp"].index is not before.compiled["jp"].index
    assert holder.heads is not serving_heads                     # then the refitted heads are swapped in
    assert holder.current.compiled["jp"].index is live.compiled["jp"].index
    assert decision() == ("block", ["jp.hot-reload-demo"])
