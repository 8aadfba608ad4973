"""What is kept of an exchange: the policy's `privacy.store` choice.

- `full`: the student's messages as written, and the answers;
- `redacted` (the default): the messages as they left for the upstream (personal data replaced by
  placeholders); a finding quoting the student's message is redacted the same way. Answers are kept as they
  are: the model only ever saw redacted input, and what the supervisor adds (help lines, refusals) is not a
  student's data;
- `hashes`: no text at all; each message, answer and quoted sentence becomes `sha256:<hex>`, enough to prove
  later that a given text was (or was not) the one exchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from ..store.records import ExchangeRecord
from .redact import Redactor


def text_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _hash_content(content):
    if isinstance(content, str):
        return text_hash(content)
    if isinstance(content, list):
        return [{**p, "text": text_hash(p["text"])} if isinstance(p, dict) and isinstance(p.get("text"), str) else p
                for p in content]
    return content


def stored_form(record: ExchangeRecord, mode: str, redactor: Redactor, redactions: dict[str, int]) -> ExchangeRecord:
    privacy = {"store": mode, "redacted": dict(redactions)}
    if mode == "full":
        return replace(record, privacy=privacy)
    if mode == "redacted":
        messages, _ = redactor.redact_messages(record.messages)
        findings = [{**f, "sentence": redactor.redact(f["sentence"]).text}
                    if f.get("target") == "user" and isinstance(f.get("sentence"), str) else f
                    for f in record.findings]
        return replace(record, messages=messages, findings=findings, privacy=privacy)
    if mode == "hashes":
        def hashed(text: str | None) -> str | None:
            return text_hash(text) if text is not None else None

        return replace(
            record, privacy=privacy,
            messages=[{**m, "content": _hash_content(m.get("content"))} for m in record.messages],
            findings=[{**f, "sentence": hashed(f.get("sentence"))} for f in record.findings],
            original_text=hashed(record.original_text), delivered_text=hashed(record.delivered_text))
    raise ValueError(f"unknown store mode {mode!r}")
