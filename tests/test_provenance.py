"""Provenance: every answer carries an AI disclosure and a signature over the delivered text, the decision,
the curriculum version and the time; the key is published; `supervisor verify-response` checks a saved answer."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from supervisor.provenance import verify_response
from supervisor.store.bundle import keys_from_document


def save(r: httpx.Response, path, stream: bool) -> dict:
    saved = {"headers": dict(r.headers), "body": r.text if stream else r.json()}
    path.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    return saved


def verify_cli(path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "supervisor", "verify-response", str(path), *args],
                          capture_output=True, text=True)


@pytest.mark.parametrize("stream", [False, True])
def test_signed_response_verifies_and_a_changed_byte_fails(proxy, answers, issue_key, tmp_path, stream):
    answers.add("てこ", "てこには支点、力点、作用点があります。")
    key = issue_key("demo-jp", grade=5)
    r = httpx.post(f"{proxy.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                   json={"model": "x", "stream": stream, "messages": [{"role": "user", "content": "てこって何？"}]})
    assert r.status_code == 200
    disclosure = r.headers["x-supervisor-ai-disclosure"]
    assert "generated-by=ai" in disclosure and "decision=pass" in disclosure and "model=" in disclosure
    assert "sig=" in r.headers["x-supervisor-signature"]
    (tmp_path / "keys.json").write_text(httpx.get(f"{proxy.url}/.well-known/supervisor-keys.json").text)
    keys = keys_from_document(json.loads((tmp_path / "keys.json").read_text()))

    saved = save(r, tmp_path / "answer.json", stream)
    assert verify_response(saved, keys).ok
    run = verify_cli(tmp_path / "answer.json", "--keys", str(tmp_path / "keys.json"))
    assert run.returncode == 0 and "decision pass, curriculum jp@" in run.stderr
    assert verify_cli(tmp_path / "answer.json", "--url", proxy.url).returncode == 0

    # one changed byte of the delivered text
    text = (tmp_path / "answer.json").read_text(encoding="utf-8").replace("作用点", "作用天", 1)
    (tmp_path / "tampered.json").write_text(text, encoding="utf-8")
    run = verify_cli(tmp_path / "tampered.json", "--keys", str(tmp_path / "keys.json"))
    assert run.returncode == 1 and "the delivered text differs from the text that was signed" in run.stdout
    # a changed decision header
    saved["headers"]["x-supervisor-decision"] = "block"
    assert verify_response(saved, keys).problems == ["header x-supervisor-decision is 'block' but the signature "
                                                     "says 'pass'"]


def test_changed_signed_field_or_foreign_key_fails(proxy, issue_key, tmp_path):
    from supervisor.signing import load_or_create_signer

    key = issue_key("demo-th")
    r = httpx.post(f"{proxy.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                   json={"model": "x", "messages": [{"role": "user", "content": "hi"}]})
    saved = {"headers": dict(r.headers), "body": r.json()}
    keys = keys_from_document(httpx.get(f"{proxy.url}/.well-known/supervisor-keys.json").json())
    assert verify_response(saved, keys).ok
    assert saved["body"]["supervisor"]["signature"] == r.headers["x-supervisor-signature"]
    forged = dict(saved, headers={**saved["headers"], "x-supervisor-signature":
                                  r.headers["x-supervisor-signature"].replace("d=pass", "d=flag")})
    assert "bad signature" in verify_response(forged, keys).problems[0]
    other = load_or_create_signer(tmp_path / "other.pem")
    assert "unknown key" in verify_response(saved, {other.key_id: other.public}).problems[0]


def test_ai_label_is_a_policy_option(proxy_settings, fake_upstream, answers, tmp_path):
    import dataclasses
    import shutil

    from conftest import ServerThread
    from supervisor.app import create_app
    from supervisor.settings import PROJECT_ROOT
    from supervisor.store import open_store

    policies = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", policies)
    text = (policies / "policies.yaml").read_text().replace("ai_label: false", "ai_label: true")
    (policies / "policies.yaml").write_text(text)
    settings = dataclasses.replace(proxy_settings, policies_dir=policies, database_url=f"sqlite:///{tmp_path}/l.db")
    answers.add("光合成", "植物は光で養分をつくります。")
    with ServerThread(create_app(settings)) as server:
        store = open_store(settings.database_url)
        key = store.issue_key("demo-jp")
        store.close()
        r = httpx.post(f"{server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                       json={"model": "x", "messages": [{"role": "user", "content": "光合成とは"}]})
        content = r.json()["choices"][0]["message"]["content"]
        assert content == "植物は光で養分をつくります。\n\n— この回答はAIが作成し、学校の監督システムが確認しました。"
        assert "label=true" in r.headers["x-supervisor-ai-disclosure"]
        keys = keys_from_document(httpx.get(f"{server.url}/.well-known/supervisor-keys.json").json())
        assert verify_response({"headers": dict(r.headers), "body": r.json()}, keys).ok   # the label is signed too
