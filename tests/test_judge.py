"""The optional LLM judge: any litellm model, asked only about findings in the uncertain band.

It upholds what it says YES to, nothing it says NO to, and nothing at all when it fails (the cheap stages
stand alone). Runs litellm for real against the fake upstream.
"""

from __future__ import annotations

import asyncio

import pytest

from conftest import FIXTURE_CURRICULA, ServerThread, free_port
from supervisor.checks.base import Finding
from supervisor.models.judge import Judge
from supervisor.rules.loader import load_curricula


@pytest.fixture(scope="module")
def judge_server():
    from supervisor.demo.fake_openai import create_fake_openai

    verdicts = {"answer": "YES"}
    app = create_fake_openai(lambda messages: verdicts["answer"], model="judge")
    with ServerThread(app) as server:
        server.verdicts, server.app = verdicts, app
        yield server


def finding(rule_id: str = "base.weapons-concealment") -> Finding:
    return Finding(rule_id, "violence_weapons", "critical", "semantic", 0.86, "response", (0, 10),
                   "Keep it in the pencil case.", "A small folding knife fits inside a pencil case", uncertain=True)


def confirm(server, api_base=None) -> set[str]:
    curriculum = load_curricula(FIXTURE_CURRICULA)["baseline"]
    judge = Judge("openai/judge", api_base=api_base or f"{server.url}/v1", api_key="k", timeout=5)
    return asyncio.run(judge.confirm(curriculum, [finding()], "Keep it in the pencil case.", "how to hide a knife"))


def test_judge_upholds_on_yes_and_sees_the_rule(judge_server):
    judge_server.verdicts["answer"] = "YES"
    assert confirm(judge_server) == {"base.weapons-concealment"}
    prompt = judge_server.app.state.received[-1]["messages"][0]["content"]
    assert "Instructions to bring or hide a weapon at school." in prompt and "pencil case" in prompt


def test_judge_upholds_nothing_on_no(judge_server):
    judge_server.verdicts["answer"] = "No."
    assert confirm(judge_server) == set()


def test_a_failing_judge_upholds_nothing(judge_server):
    assert confirm(judge_server, api_base=f"http://127.0.0.1:{free_port()}/v1") == set()


def test_uncertain_findings_act_only_when_confirmed():
    from supervisor.checks.base import CheckContext, TextView
    from supervisor.policy import DEFAULT_POLICY
    from supervisor.text.normalize import normalize
    from supervisor.verdict import evaluate

    curriculum = load_curricula(FIXTURE_CURRICULA)["baseline"]
    text = "Keep it in the pencil case."
    view = TextView(text, normalize(text), [])
    empty = TextView("", normalize(""), [])
    ctx = CheckContext(response=view, user=empty, lang="en", grade=None)
    checks = {"semantic": lambda rule, ctx: [finding(rule.id)] if rule.id == "base.weapons-concealment" else [],
              "phrase": lambda rule, ctx: [], "fuzzy": lambda rule, ctx: []}
    unconfirmed = evaluate(ctx, curriculum, checks, DEFAULT_POLICY)
    assert unconfirmed.decision == "pass" and [f.rule_id for f in unconfirmed.uncertain] == ["base.weapons-concealment"]
    confirmed = evaluate(ctx, curriculum, checks, DEFAULT_POLICY, confirmed=frozenset({"base.weapons-concealment"}))
    assert confirmed.decision == "block" and confirmed.rules == ["base.weapons-concealment"]
