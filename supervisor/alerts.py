"""Safeguarding alerts: a finding in a severe category tells the school's safeguarding contacts within seconds.

Which categories alert is policy (`alert_categories` in policies/policies.yaml; by default self-harm, distress
disclosed by a student, and violence or weapons). Who is told is per school (`safeguarding:` in
policies/schools.yaml): a webhook (JSON POST signed with HMAC-SHA256, retried with exponential back-off) and,
when the deployment has SMTP configured (`SUPERVISOR_SMTP_URL`), e-mail.

An alert carries as little personal data as does the job: the student's pseudonym, school, grade, category,
rule and a link to the review item; never the conversation. The e-mail is written in the school's first
language (then English, alert_text.py); the webhook's JSON carries ids only, as before. Delivery runs as a background task after the
exchange is recorded, so it never delays or breaks the student's answer; every failure is logged.

Webhook signature: header `X-Supervisor-Signature: t=<unix seconds>,v1=<hex>` where hex is
HMAC-SHA256(key, f"{t}.{raw body}") and key is the value of the school's `secret_env` variable. Receivers
should check it and reject old timestamps; `X-Supervisor-Alert-Id` is stable across retries (deduplicate on it).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import httpx
import structlog

from .alert_text import words
from .policy import Policy, School
from .rules.category_names import category_name
from .settings import Settings
from .store.records import ExchangeRecord
from .store.sqlite import now

log = structlog.get_logger("supervisor.alerts")

_RETRY_STATUS = {408, 425, 429}


@dataclass(frozen=True)
class Alert:
    alert_id: str
    school_id: str
    school_name: str
    created_at: str
    student: str | None        # the keyed pseudonym, never a name
    grade: int | None
    decision: str | None
    categories: tuple[str, ...]
    rules: tuple[dict, ...]    # {id, category, severity}
    review_url: str
    lang: str = "en"           # the school's first language: the e-mail is written in it

    def payload(self) -> dict:
        fields = {k: v for k, v in asdict(self).items() if k != "lang"}  # the webhook's JSON is ids, not words
        return {"type": "safeguarding_alert", **fields, "categories": list(self.categories), "rules": list(self.rules)}

    def email(self, sender: str, to: tuple[str, ...]) -> EmailMessage:
        """In the school's language (`lang`), then in English when that is another language."""
        msg = EmailMessage()
        w = words(self.lang)
        categories = ", ".join(category_name(c, self.lang) for c in self.categories)
        msg["Subject"] = f"[{w('subject')}] {self.school_name}: {categories} ({w('grade')} {self.grade})"
        msg["From"] = sender
        msg["To"] = ", ".join(to)
        body = self._body(self.lang)
        if self.lang != "en":
            body += "\n" + "-" * 40 + " English\n\n" + self._body("en")
        msg.set_content(body)
        return msg

    def _body(self, lang: str) -> str:
        w = words(lang)
        rules = "\n".join(f"  - {r['id']} ({category_name(r['category'], lang)}, {r['severity']})" for r in self.rules)
        decision = w(f"decision_{self.decision}") if self.decision in ("flag", "rewrite", "block", "pass") else \
            self.decision
        return (f"{w('intro')}\n\n"
                f"{w('school')}: {self.school_name} ({self.school_id})\n"
                f"{w('student')}: {self.student or w('no_student')} ({w('pseudonym')})\n"
                f"{w('grade')}: {self.grade}\n"
                f"{w('category')}: {', '.join(category_name(c, lang) for c in self.categories)}\n"
                f"{w('decision')}: {decision}\n"
                f"{w('rules')}:\n{rules}\n\n"
                f"{w('open')}\n{self.review_url}\n\n"
                f"Alert id {self.alert_id}, {self.created_at}. {w('footer')}\n")


def alert_for(record: ExchangeRecord, school: School, policy: Policy, base_url: str, created_at: str) -> Alert | None:
    """An alert when the exchange has findings in the policy's alert categories; None otherwise."""
    severe = [f for f in record.findings if f.get("category") in policy.alert_categories]
    if not severe or record.status != "ok":
        return None
    rules = {f["rule"]: {"id": f["rule"], "category": f["category"], "severity": f["severity"]} for f in severe}
    return Alert(
        alert_id=record.request_id, school_id=school.id, school_name=school.name, created_at=created_at,
        student=record.user_pseudonym, grade=record.grade, decision=record.decision,
        categories=tuple(dict.fromkeys(f["category"] for f in severe)), rules=tuple(rules.values()),
        review_url=f"{base_url.rstrip('/')}/review/items/{record.request_id}",
        lang=school.languages[0] if school.languages else "en")


def sign(key: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class Alerter:
    """Sends alerts in background tasks. `secrets` maps a school's `secret_env` name to its signing key."""

    def __init__(self, settings: Settings, secrets: Mapping[str, str] | None = None):
        self.settings = settings
        self.secrets = os.environ if secrets is None else secrets
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        self.base_url = settings.public_url or f"http://{host}:{settings.port}"
        self._tasks: set[asyncio.Task] = set()

    def notify(self, record: ExchangeRecord, school: School, policy: Policy) -> asyncio.Task | None:
        """Schedule delivery and return at once. Never raises: an alert problem must not touch the answer."""
        try:
            contacts = school.safeguarding
            alert = alert_for(record, school, policy, self.base_url, now())
            if alert is None:
                return None
            if not contacts.webhook_url and not (contacts.emails and self.settings.smtp_url):
                log.warning("alert_without_contacts", school=school.id, request_id=record.request_id,
                            categories=list(alert.categories),
                            fix="add safeguarding contacts for this school in policies/schools.yaml"
                                + ("" if self.settings.smtp_url or not contacts.emails else
                                   " and set SUPERVISOR_SMTP_URL for e-mail"))
                return None
            task = asyncio.get_running_loop().create_task(self._deliver(alert, school))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return task
        except Exception:  # noqa: BLE001 - the student's answer must go out whatever happens here
            log.exception("alert_schedule_failed", request_id=record.request_id)
            return None

    async def _deliver(self, alert: Alert, school: School) -> None:
        contacts = school.safeguarding
        jobs = []
        if contacts.webhook_url:
            jobs.append(self._retrying("webhook", alert, lambda: self._post(alert, school)))
        if contacts.emails and self.settings.smtp_url:
            jobs.append(self._retrying("email", alert, lambda: asyncio.to_thread(self._mail, alert, contacts.emails)))
        await asyncio.gather(*jobs)

    async def _retrying(self, channel: str, alert: Alert, send) -> bool:
        attempts = max(1, self.settings.alert_attempts)
        for attempt in range(1, attempts + 1):
            try:
                await send()
            except _Permanent as exc:
                log.error("alert_failed", channel=channel, school=alert.school_id, alert_id=alert.alert_id,
                          attempt=attempt, error=str(exc), retry=False)
                return False
            except Exception as exc:  # noqa: BLE001 - any failure is logged and retried
                retry = attempt < attempts
                log.warning("alert_attempt_failed", channel=channel, school=alert.school_id,
                            alert_id=alert.alert_id, attempt=attempt, error=str(exc) or type(exc).__name__,
                            retry=retry)
                if retry:
                    await asyncio.sleep(self.settings.alert_backoff * 2 ** (attempt - 1))
                continue
            log.info("alert_sent", channel=channel, school=alert.school_id, alert_id=alert.alert_id,
                     attempt=attempt, categories=list(alert.categories))
            return True
        log.error("alert_failed", channel=channel, school=alert.school_id, alert_id=alert.alert_id,
                  attempts=attempts, retry=False)
        return False

    async def _post(self, alert: Alert, school: School) -> None:
        body = json.dumps(alert.payload(), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Supervisor-Alert-Id": alert.alert_id,
                   "User-Agent": "edu-supervisor-alerts"}
        env = school.safeguarding.webhook_secret_env
        key = self.secrets.get(env) if env else None
        if key:
            headers["X-Supervisor-Signature"] = sign(key, int(time.time()), body)
        else:
            log.warning("alert_unsigned", school=school.id, alert_id=alert.alert_id,
                        fix=f"set the environment variable {env}" if env else
                        "add webhook.secret_env for this school in policies/schools.yaml")
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(school.safeguarding.webhook_url, content=body, headers=headers)
        if response.status_code >= 500 or response.status_code in _RETRY_STATUS:
            raise RuntimeError(f"webhook answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise _Permanent(f"webhook refused the alert with HTTP {response.status_code}: check its URL and key")

    def _mail(self, alert: Alert, to: tuple[str, ...]) -> None:
        url = urlsplit(self.settings.smtp_url or "")
        secure = url.scheme == "smtps"
        port = url.port or {"smtps": 465, "smtp+starttls": 587}.get(url.scheme, 25)
        if url.scheme not in ("smtp", "smtps", "smtp+starttls") or not url.hostname:
            raise _Permanent(f"SUPERVISOR_SMTP_URL must look like smtp://host:25, smtp+starttls://user:pass@host:587 "
                             f"or smtps://host:465 (got scheme {url.scheme!r})")
        factory = smtplib.SMTP_SSL if secure else smtplib.SMTP
        with factory(url.hostname, port, timeout=10) as smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(alert.email(self.settings.alert_from, to))

    async def aclose(self, grace: float = 5.0) -> None:
        """At shutdown: let alerts in flight finish for a moment, then stop (each failure is already logged)."""
        pending = list(self._tasks)
        if not pending:
            return
        _, still = await asyncio.wait(pending, timeout=grace)
        for task in still:
            log.error("alert_abandoned_at_shutdown", task=task.get_name())
            task.cancel()


class _Permanent(Exception):
    """A failure a retry cannot fix (the receiver refused, the configuration is wrong)."""
