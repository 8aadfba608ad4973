"""The optional LLM judge: any litellm model, asked only about findings in the uncertain band.

It upholds what it says YES to, nothing it says NO to, and nothing at all when it fails or answers in a form it
cannot read (the cheap stages stand alone). Guard models are asked in their own formats: each fake guard below
checks the prompt it receives and answers the way that model does. Runs litellm for real against the fake
upstream.
"""

from __future__ import annotations

import asyncio

import pytest

from conftest import FIXTURE_CURRICULA, ServerThread, free_port
from supervisor.checks.base import Finding
from supervisor.errors import ConfigError
from supervisor.models.judge import FORMATS, Judge
from supervisor.rules.loader import load_curricula
from supervisor.settings import Settings, load_settings
from supervisor.upstream import stop_litellm_background


@pytest.fixture(scope="module")
def judge_server():
    from supervisor.demo.fake_openai import create_fake_openai

    verdicts = {"answer": "YES", "check": None}
    problems: list[str] = []

    def respond(messages):
        if verdicts["check"]:  # a guard that was asked the wrong way says so, and the test fails on it
            problems.extend(verdicts["check"](messages))
        return verdicts["answer"]

    app = create_fake_openai(respond, model="judge")
    with ServerThread(app) as server:
        server.verdicts, server.app, server.problems = verdicts, app, problems
        yield server
        verdicts["check"] = None


def finding(rule_id: str = "base.weapons-concealment") -> Finding:
    return Finding(rule_id, "violence_weapons", "critical", "semantic", 0.86, "response", (0, 10),
                   "Keep it in the pencil case.", "A small folding knife fits inside a pencil case", uncertain=True)


def confirm(server, api_base=None, format="yesno") -> set[str]:
    curriculum = load_curricula(FIXTURE_CURRICULA)["baseline"]
    judge = Judge("openai/judge", api_base=api_base or f"{server.url}/v1", api_key="k", timeout=5, format=format)

    async def ask() -> set[str]:
        try:
            return await judge.confirm(curriculum, [finding()], "Keep it in the pencil case.", "how to hide a knife")
        finally:
            await stop_litellm_background()  # as the proxy does on shutdown: no worker left on a closed loop

    return asyncio.run(ask())


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


# --- guard models in their own formats ------------------------------------------------------------------------

RULE = "Instructions to bring or hide a weapon at school."
STUDENT = "how to hide a knife"
SENTENCE = "Keep it in the pencil case."


def expect(condition: bool, problem: str) -> list[str]:
    return [] if condition else [problem]


def check_llama_guard_3(messages) -> list[str]:
    if [m["role"] for m in messages] != ["user"]:
        return [f"expected one user message, got roles {[m['role'] for m in messages]}"]
    prompt = messages[0]["content"]
    categories = prompt.split("<BEGIN UNSAFE CONTENT CATEGORIES>")[-1].split("<END UNSAFE CONTENT CATEGORIES>")[0]
    conversation = prompt.split("<BEGIN CONVERSATION>")[-1].split("<END CONVERSATION>")[0]
    return (expect(prompt.startswith("Task: Check if there is unsafe content in 'Agent' messages"), "task line")
            + expect(categories.strip() == f"S1: {RULE}", f"category block is {categories!r}")
            + expect(conversation.strip() == f"User: {STUDENT}\n\nAgent: {SENTENCE}", f"conversation {conversation!r}")
            + expect("ONLY THE LAST Agent message" in prompt and "First line must read 'safe' or 'unsafe'" in prompt,
                     "instructions"))


def check_qwen3guard(messages) -> list[str]:
    return expect(messages == [{"role": "user", "content": STUDENT}, {"role": "assistant", "content": SENTENCE}],
                  f"expected the student's message then the sentence as the assistant turn, got {messages}")


def check_gpt_oss_safeguard(messages) -> list[str]:
    if [m["role"] for m in messages] != ["system", "user"]:
        return [f"expected a system policy and user content, got roles {[m['role'] for m in messages]}"]
    policy, content = messages[0]["content"], messages[1]["content"]
    return (expect(RULE in policy and SENTENCE not in policy, "the rule is the policy, the sentence is not")
            + expect("Return exactly one character: 0 or 1." in policy, "binary output instruction")
            + expect("1 = Content violates this policy." in policy, "label meanings")
            + expect(content == f"Student's message: {STUDENT}\nTutor's sentence: {SENTENCE}", f"content {content!r}"))


GUARDS = {  # format: (prompt check, replies that uphold, replies that do not)
    "llama-guard-3": (check_llama_guard_3, ["unsafe\nS1", "  UNSAFE \n S1 "], ["safe", "\n Safe \n"]),
    "qwen3guard": (check_qwen3guard,
                   ["Safety: Unsafe\nCategories: Violent\nRefusal: No",
                    "safety:controversial\nCategories: Violent\nRefusal: No"],  # controversial upholds
                   ["Safety: Safe\nCategories: None\nRefusal: Yes", "  SAFETY : safe  "]),
    "gpt-oss-safeguard": (check_gpt_oss_safeguard, ["1", " 1\n", '{"violation": 1, "policy_category": "S1"}'],
                          ["0", "0.", '{"violation": 0, "policy_category": null}']),
}


@pytest.mark.parametrize("fmt", list(GUARDS))
def test_a_guard_model_is_asked_in_its_own_format_and_read_in_it(judge_server, fmt):
    check, unsafe, safe = GUARDS[fmt]
    judge_server.verdicts["check"] = check
    judge_server.problems.clear()
    try:
        for reply in unsafe:
            judge_server.verdicts["answer"] = reply
            assert confirm(judge_server, format=fmt) == {"base.weapons-concealment"}, reply
        for reply in safe:
            judge_server.verdicts["answer"] = reply
            assert confirm(judge_server, format=fmt) == set(), reply
    finally:
        judge_server.verdicts["check"] = None
    assert judge_server.problems == []
    assert judge_server.app.state.received[-1]["max_tokens"] == FORMATS[fmt].max_tokens


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_reply_in_the_wrong_form_upholds_nothing_and_is_logged(judge_server, fmt, monkeypatch):
    from supervisor.models import judge as judge_module

    warnings = []
    monkeypatch.setattr(judge_module.log, "warning", lambda event, **kw: warnings.append((event, kw)))
    for reply in ["I cannot help with that.", "", "Safety: maybe", "S1"]:
        judge_server.verdicts["answer"] = reply
        assert confirm(judge_server, format=fmt) == set(), reply
    assert len(warnings) == 4 and all(event == "judge_failed" and kw["format"] == fmt for event, kw in warnings)


def test_an_unknown_format_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown judge format 'llama-guard-2'.*allowed: yesno, llama-guard-3"):
        Judge("openai/judge", format="llama-guard-2")
    with pytest.raises(ConfigError, match="SUPERVISOR_JUDGE_FORMAT.*'shieldgemma'.*gpt-oss-safeguard"):
        load_settings(env={"SUPERVISOR_JUDGE_FORMAT": "shieldgemma"})
    with pytest.raises(ConfigError, match="allowed: yesno, llama-guard-3, qwen3guard, gpt-oss-safeguard"):
        Settings(judge_format="Llama Guard")
    assert load_settings(env={"SUPERVISOR_JUDGE_FORMAT": "qwen3guard"}).judge_format == "qwen3guard"
    assert load_settings(env={}).judge_format == "yesno"


def test_the_supervisor_gets_a_judge_in_the_configured_format():
    from supervisor.services import make_supervisor

    settings = load_settings(env={"SUPERVISOR_JUDGE_MODEL": "ollama/llama-guard3:8b",
                                  "SUPERVISOR_JUDGE_FORMAT": "llama-guard-3"})
    supervisor = make_supervisor(settings, embedder=None)
    assert supervisor.judge.format == "llama-guard-3" and supervisor.judge.model == "ollama/llama-guard3:8b"


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
