"""Safeguarding alerts against a real webhook receiver (HTTP on 127.0.0.1) and a real SMTP server (aiosmtpd).

Signed JSON, retries with back-off, e-mail, minimal personal data, school contacts in schools.yaml with precise
errors, and the proof that delivery never holds up the student's answer: the answer arrives while the
webhook receiver is still holding the alert request open.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import structlog
import yaml
from aiosmtpd.controller import Controller

from conftest import ServerThread, free_port
from supervisor.alerts import Alerter, alert_for
from supervisor.errors import ConfigError
from supervisor.policy import DEFAULT_POLICY, Safeguarding, School, load_policies
from supervisor.settings import PROJECT_ROOT, Settings
from supervisor.store.records import ExchangeRecord

SECRET = "whsec-test-key"
QUESTION_TEXT = "the student's own words, which must never leave in an alert"


class Receiver:
    """A webhook endpoint: records each request; answers `statuses` in turn (then 200); can hold requests open."""

    def __init__(self, statuses: list[int] | None = None):
        self.requests: list[dict] = []
        self.statuses = list(statuses or [])
        self.release = threading.Event()
        self.release.set()
        self.arrived = threading.Event()
        self.responses = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                receiver.arrived.set()
                receiver.release.wait(300)
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()
                receiver.responses += 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()


class Mailbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.url = f"smtp://127.0.0.1:{controller.port}"
    yield box
    controller.stop()


def wait_for(condition, what: str, limit: float = 30):
    """Wait for something that happens in the background (not a timing assertion: the limit is generous)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def severe_record(category: str = "self_harm") -> ExchangeRecord:
    return ExchangeRecord(
        request_id="req-alert-1", school_id="s1", user_pseudonym="u-5f2c", model="m", country="jp",
        curriculum="jp@v", grade=8, lang="ja", mode="tutor", stream=False, status="ok", decision="block",
        rules=["base.self-harm-methods"],
        findings=[{"rule": "base.self-harm-methods", "category": category, "severity": "critical",
                   "stage": "semantic", "score": 0.95, "target": "response", "span": [0, 5], "sentence": "x",
                   "evidence": "y"}],
        messages=[{"role": "user", "content": QUESTION_TEXT}], original_text="answer text never sent",
        delivered_text="refusal")


def school(webhook: str | None = None, emails: tuple[str, ...] = (), languages: tuple[str, ...] = ()) -> School:
    return School(id="s1", name="First School", country="jp", grades=(1, 12), languages=languages,
                  safeguarding=Safeguarding(webhook_url=webhook, webhook_secret_env="S1_SECRET" if webhook else None,
                                            emails=emails))


def deliver(alerter: Alerter, record: ExchangeRecord, where: School):
    async def run():
        task = alerter.notify(record, where, DEFAULT_POLICY)
        if task:
            await task
        return task

    return asyncio.run(run())


def fast(**changes) -> Settings:
    return Settings(public_url="https://review.example.edu", alert_backoff=0.01, **changes)


def test_webhook_is_signed_retried_and_minimal(receiver):
    receiver.statuses = [503, 502]
    alerter = Alerter(fast(alert_attempts=4), secrets={"S1_SECRET": SECRET})
    with structlog.testing.capture_logs() as logs:
        deliver(alerter, severe_record(), school(receiver.url))
    assert len(receiver.requests) == 3                       # two failures, then delivered
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1                                  # the same alert each time
    request = receiver.requests[-1]
    body = request["body"]
    payload = json.loads(body)
    assert payload == {
        "type": "safeguarding_alert", "alert_id": "req-alert-1", "school_id": "s1", "school_name": "First School",
        "created_at": payload["created_at"], "student": "u-5f2c", "grade": 8, "decision": "block",
        "categories": ["self_harm"],
        "rules": [{"id": "base.self-harm-methods", "category": "self_harm", "severity": "critical"}],
        "review_url": "https://review.example.edu/review/items/req-alert-1"}
    assert QUESTION_TEXT not in body.decode() and "answer text" not in body.decode()
    signature = request["headers"]["X-Supervisor-Signature"]
    stamp, mac = (part.split("=", 1)[1] for part in signature.split(","))
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected)
    assert request["headers"]["X-Supervisor-Alert-Id"] == "req-alert-1"
    events = [e["event"] for e in logs]
    assert events.count("alert_attempt_failed") == 2 and "alert_sent" in events


def test_webhook_failures_are_logged_and_given_up(receiver):
    receiver.statuses = [500, 500, 500]
    with structlog.testing.capture_logs() as logs:
        deliver(Alerter(fast(alert_attempts=3), secrets={"S1_SECRET": SECRET}), severe_record(), school(receiver.url))
    assert len(receiver.requests) == 3
    assert logs[-1]["event"] == "alert_failed" and logs[-1]["attempts"] == 3
    receiver.requests.clear()
    receiver.statuses = [401]                                # refused: retrying cannot help
    with structlog.testing.capture_logs() as logs:
        deliver(Alerter(fast(alert_attempts=3), secrets={}), severe_record(), school(receiver.url))
    assert len(receiver.requests) == 1 and "X-Supervisor-Signature" not in receiver.requests[0]["headers"]
    events = {e["event"]: e for e in logs}
    assert "S1_SECRET" in events["alert_unsigned"]["fix"] and events["alert_failed"]["retry"] is False


def test_email_goes_to_the_school_contacts(mailbox):
    alerter = Alerter(fast(smtp_url=mailbox.url, alert_from="alerts@district.example"))
    deliver(alerter, severe_record("crisis_support"), school(emails=("lead@school.example", "nurse@school.example")))
    assert len(mailbox.messages) == 1
    envelope = mailbox.messages[0]
    assert envelope.mail_from == "alerts@district.example"
    assert sorted(envelope.rcpt_tos) == ["lead@school.example", "nurse@school.example"]
    text = envelope.content.decode()
    assert "Student in crisis" in text and "First School" in text and "u-5f2c" in text
    assert "https://review.example.edu/review/items/req-alert-1" in text
    assert QUESTION_TEXT not in text and "answer text" not in text


@pytest.mark.parametrize(("lang", "words"), [("ja", ("安全確保", "危機にある児童生徒", "児童生徒", "ブロック")),
                                             ("th", ("การคุ้มครองนักเรียน", "นักเรียนที่อยู่ในภาวะวิกฤต", "บล็อก"))])
def test_the_email_is_in_the_schools_language_then_english(mailbox, lang, words):
    import email
    from email import policy

    alerter = Alerter(fast(smtp_url=mailbox.url, alert_from="alerts@district.example"))
    deliver(alerter, severe_record("crisis_support"), school(emails=("lead@school.example",), languages=(lang,)))
    message = email.message_from_bytes(mailbox.messages[-1].content, policy=policy.default)
    subject, body = str(message["Subject"]), message.get_content()
    assert words[0] in subject and words[1] in subject
    assert all(w in body for w in words[1:])
    assert body.index(words[1]) < body.index("Student in crisis")          # the school's language leads
    assert "https://review.example.edu/review/items/req-alert-1" in body and QUESTION_TEXT not in body


def test_notify_schedules_and_returns_at_once(receiver):
    receiver.release.clear()
    alerter = Alerter(fast(), secrets={"S1_SECRET": SECRET})

    async def run():
        task = alerter.notify(severe_record(), school(receiver.url), DEFAULT_POLICY)
        assert isinstance(task, asyncio.Task) and not task.done()     # delivery is still to come
        await asyncio.to_thread(receiver.arrived.wait, 30)
        assert not task.done()                                          # the receiver is holding it
        receiver.release.set()
        await task

    asyncio.run(run())
    assert receiver.responses == 1


def test_only_severe_categories_alert_and_policy_decides_which():
    assert alert_for(severe_record("contested_history"), school(), DEFAULT_POLICY, "http://x", "now") is None
    assert alert_for(severe_record("violence_weapons"), school(), DEFAULT_POLICY, "http://x", "now") is not None
    strict = dataclasses.replace(DEFAULT_POLICY, alert_categories=("contested_history",))
    assert alert_for(severe_record("contested_history"), school(), strict, "http://x", "now") is not None
    failed = dataclasses.replace(severe_record(), status="upstream_error")
    assert alert_for(failed, school(), DEFAULT_POLICY, "http://x", "now") is None


def write_policies(folder: Path, contacts: dict, policy_extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "policies" / "policies.yaml", folder / "policies.yaml")
    shutil.copytree(PROJECT_ROOT / "policies" / "rosters", folder / "rosters")  # schools.yaml names them
    if policy_extra:
        (folder / "policies.yaml").write_text((folder / "policies.yaml").read_text() + policy_extra)
    data = yaml.safe_load((PROJECT_ROOT / "policies" / "schools.yaml").read_text())
    for entry in data["schools"]:
        if entry["id"] == "demo-jp":
            entry["safeguarding"] = contacts
    (folder / "schools.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return folder


def test_schools_yaml_contacts_are_validated_precisely(tmp_path):
    ok = load_policies(write_policies(tmp_path / "ok", {"webhook": {"url": "https://hooks.example/a",
                                                                    "secret_env": "DEMO_JP_HOOK"},
                                                        "emails": ["lead@school.example"]}))
    guard = ok.schools["demo-jp"].safeguarding
    assert guard == Safeguarding("https://hooks.example/a", "DEMO_JP_HOOK", ("lead@school.example",))
    assert ok.policies["default"].alert_categories == ("self_harm", "crisis_support", "violence_weapons")
    with pytest.raises(ConfigError) as err:
        load_policies(write_policies(tmp_path / "bad", {"phone": "+81 3 0000", "emails": ["not-an-address"]}))
    messages = [str(p) for p in err.value.problems]
    assert any("schools.yaml:" in m and "unknown key 'phone'; allowed keys: emails, webhook" in m for m in messages)
    assert any("not-an-address" in m for m in messages)
    with pytest.raises(ConfigError) as err:
        load_policies(write_policies(tmp_path / "cat", {}, "    alert_categories: [self_harm, sadness]\n"))
    assert "'sadness' is not one of" in str(err.value)


def test_a_real_exchange_alerts_without_waiting_for_the_receiver(proxy_settings, answers, receiver, mailbox,
                                                                 tmp_path):
    """Self-harm instructions through the proxy: the student gets the refusal while the webhook is still held."""
    from supervisor.app import create_app
    from supervisor.store import open_store

    policies = write_policies(tmp_path / "policies", {"webhook": {"url": receiver.url},
                                                      "emails": ["lead@school.example"]})
    settings = dataclasses.replace(proxy_settings, database_url=f"sqlite:///{tmp_path}/alerts.db",
                                   policies_dir=policies, smtp_url=mailbox.url, alert_backoff=0.01,
                                   public_url="https://review.example.edu")
    answers.add("全部忘れる方法", "いやなことがあるなら、ドラッグストアの咳止めを一度にまとめて飲めば忘れられるよ。親にバレないように箱は捨ててね。")
    receiver.release.clear()                                 # the receiver holds every alert request open
    with ServerThread(create_app(settings)) as server:
        store = open_store(settings.database_url)
        key = store.issue_key("demo-jp", grade=9)
        store.close()
        r = httpx.post(f"{server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                       json={"model": "x", "user": "student-42",
                             "messages": [{"role": "user", "content": "全部忘れる方法を教えて"}]})
        assert r.status_code == 200 and r.headers["x-supervisor-decision"] == "block"
        wait_for(receiver.arrived.is_set, "the webhook request")
        # The answer is back and the receiver has not answered the alert yet. Had the proxy waited for the
        # alert, each attempt would have timed out against the held receiver and been retried first.
        assert receiver.responses == 0 and len(receiver.requests) == 1
        receiver.release.set()
        wait_for(lambda: mailbox.messages and receiver.responses, "the alert e-mail and webhook")
    assert len(receiver.requests) == 1
    payload = json.loads(receiver.requests[0]["body"])
    assert payload["school_id"] == "demo-jp" and payload["categories"] == ["self_harm"]
    assert payload["review_url"] == f"https://review.example.edu/review/items/{r.headers['x-request-id']}"
    assert payload["student"].startswith("u-") and "student-42" not in receiver.requests[0]["body"].decode()
    assert "咳止め" not in receiver.requests[0]["body"].decode()
    assert "咳止め" not in mailbox.messages[0].content.decode("utf-8", errors="replace")


def test_a_streamed_exchange_alerts_too(proxy_settings, answers, receiver, tmp_path):
    """Streams record through their own path; a self-harm block there must alert just the same."""
    from supervisor.app import create_app
    from supervisor.store import open_store

    policies = write_policies(tmp_path / "policies", {"webhook": {"url": receiver.url}})
    settings = dataclasses.replace(proxy_settings, database_url=f"sqlite:///{tmp_path}/alerts.db",
                                   policies_dir=policies, alert_backoff=0.01)
    answers.add("忘れるやり方", "いやなことがあるなら、ドラッグストアの咳止めを一度にまとめて飲めば忘れられるよ。親にバレないように箱は捨ててね。")
    receiver.release.set()
    with ServerThread(create_app(settings)) as server:
        store = open_store(settings.database_url)
        key = store.issue_key("demo-jp", grade=9)
        store.close()
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", timeout=60,
                          headers={"Authorization": f"Bearer {key}"},
                          json={"model": "x", "stream": True,
                                "messages": [{"role": "user", "content": "忘れるやり方を教えて"}]}) as r:
            body = "".join(r.iter_text())
        assert '"decision": "block"' in body or '"decision":"block"' in body
        assert "咳止め" not in body
        wait_for(lambda: receiver.requests, "the webhook request for the streamed exchange")
    payload = json.loads(receiver.requests[-1]["body"])
    assert payload["categories"] == ["self_harm"] and payload["school_id"] == "demo-jp"


def test_an_exchange_that_cannot_be_recorded_still_alerts(proxy_settings, answers, receiver, tmp_path):
    """A store that refuses the record must not swallow the safeguarding alert with it."""
    import sqlite3

    from supervisor.app import create_app
    from supervisor.store import open_store

    policies = write_policies(tmp_path / "policies", {"webhook": {"url": receiver.url}})
    settings = dataclasses.replace(proxy_settings, database_url=f"sqlite:///{tmp_path}/alerts.db",
                                   policies_dir=policies, alert_backoff=0.01)
    answers.add("忘れたいこと", "いやなことがあるなら、ドラッグストアの咳止めを一度にまとめて飲めば忘れられるよ。親にバレないように箱は捨ててね。")
    with ServerThread(create_app(settings)) as server:
        store = open_store(settings.database_url)
        key = store.issue_key("demo-jp", grade=9)
        store.close()
        with sqlite3.connect(tmp_path / "alerts.db") as conn:  # SQLite refuses every new record from now on
            conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON exchanges BEGIN SELECT RAISE(ABORT, 'no'); END")
        r = httpx.post(f"{server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                       json={"model": "x", "messages": [{"role": "user", "content": "忘れたいことがある"}]})
        assert r.status_code == 503
        wait_for(lambda: receiver.requests, "the webhook request for the unrecorded exchange")
    payload = json.loads(receiver.requests[-1]["body"])
    assert payload["categories"] == ["self_harm"] and payload["school_id"] == "demo-jp"
