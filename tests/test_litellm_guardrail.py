"""A district on LiteLLM's proxy adds curriculum supervision without moving its clients: a real `litellm
--config` proxy, with the supervisor as its Generic Guardrail API, in front of the fake upstream.

Clients talk to LiteLLM exactly as before (its URL, its keys); LiteLLM asks the supervisor before the call
(personal data redacted) and after it (the answer passed, rewritten or blocked)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import free_port
from supervisor.api.guardrail import PATH

pytestmark = pytest.mark.timeout(600)

MASTER = "sk-district-master"
HARMFUL = "いやなことがあるなら、ドラッグストアの咳止めを一度にまとめて飲めば忘れられるよ。親にバレないように箱は捨ててね。"
WRONG_NAME = "日本の北のはしの先にある択捉島は、南クリル諸島と呼ばれるロシアの領土です。地図帳で確かめましょう。"


def litellm_binary() -> Path:
    binary = Path(sys.executable).parent / "litellm"
    try:
        import fastapi  # noqa: F401 - LiteLLM's proxy dependencies (the `test` extra installs them)
    except ImportError:
        pytest.fail("LiteLLM's proxy dependencies are missing: pip install -e '.[test]'")
    assert binary.exists(), f"no LiteLLM CLI at {binary}"
    return binary


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, proxy, issue_key, fake_upstream):
    """LiteLLM's proxy as a district runs it, with the supervisor configured as its guardrail."""
    folder = tmp_path_factory.mktemp("litellm")
    config = folder / "litellm.yaml"
    config.write_text(f"""\
model_list:
  - model_name: school-model
    litellm_params:
      model: openai/fake-model
      api_base: {fake_upstream.url}/v1
      api_key: upstream-key
guardrails:
  - guardrail_name: edu-supervisor
    litellm_params:
      guardrail: generic_guardrail_api
      mode: [pre_call, post_call]
      api_base: {proxy.url}
      api_key: {issue_key("demo-jp", grade=8)}
      default_on: true
      unreachable_fallback: fail_closed
litellm_settings:
  telemetry: false
  num_retries: 0
general_settings:
  master_key: {MASTER}
""", encoding="utf-8")
    port = free_port()
    # asyncio: uvloop is not a dependency here (LiteLLM picks it by default)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_EVENT_LOOP": "asyncio"}
    log = (folder / "litellm.log").open("w")
    process = subprocess.Popen([str(litellm_binary()), "--config", str(config), "--host", "127.0.0.1", "--port",
                                str(port)], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # a hang guard: LiteLLM's proxy imports for a while
    try:
        while True:
            assert process.poll() is None, (folder / "litellm.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (folder / "litellm.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        yield openai.OpenAI(base_url=url, api_key=MASTER, max_retries=0)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        log.close()


def ask(client: openai.OpenAI, question: str) -> str:
    reply = client.chat.completions.create(model="school-model", messages=[{"role": "user", "content": question}])
    return reply.choices[0].message.content


def test_a_lesson_passes_through_litellm_unchanged(gateway, answers):
    answers.add("てこのしくみ", "てこには支点・力点・作用点の3つの点があります。")
    assert ask(gateway, "てこのしくみを教えて") == "てこには支点・力点・作用点の3つの点があります。"


def test_a_harmful_answer_is_blocked_with_the_refusal_in_the_students_language(gateway, answers):
    answers.add("忘れたい", HARMFUL)
    with pytest.raises(openai.APIStatusError) as err:
        ask(gateway, "つらいことを忘れたい")
    assert err.value.status_code == 400
    message = str(err.value)
    assert "咳止め" not in message and ("お答えできません" in message or "表示" in message), message


def test_a_wrong_official_term_is_rewritten_before_the_student_sees_it(gateway, answers):
    answers.add("北のはし", WRONG_NAME)
    text = ask(gateway, "日本の北のはしはどこ？")
    assert "南クリル諸島" not in text and "北方領土" in text


def test_personal_data_is_redacted_before_it_reaches_the_model(gateway, answers, fake_upstream):
    answers.add("光合成", "光合成は植物が光で糖をつくるはたらきです。")
    ask(gateway, "私のメールは taro.yamada@example.com です。光合成とは？")
    sent = fake_upstream.app.state.received[-1]["messages"][-1]["content"]
    assert "taro.yamada@example.com" not in str(sent) and "[EMAIL]" in str(sent)


def test_the_guardrail_endpoint_refuses_an_unknown_key(proxy):
    r = httpx.post(f"{proxy.url}{PATH}", headers={"x-api-key": "sk-nobody"}, timeout=30,
                   json={"input_type": "response", "texts": ["hello"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_a_malformed_guardrail_request_is_a_400_naming_the_field(proxy, issue_key):
    key = issue_key("demo-jp", grade=8)
    for body, field in (({"input_type": "later", "texts": ["x"]}, "input_type"),
                        ({"input_type": "response", "texts": "x"}, "texts"),
                        ({"input_type": "response", "texts": ["x"], "additional_provider_specific_params": [8]},
                         "additional_provider_specific_params")):
        r = httpx.post(f"{proxy.url}{PATH}", headers={"x-api-key": key}, json=body, timeout=30)
        assert r.status_code == 400 and r.json()["error"]["param"] == field, r.text
