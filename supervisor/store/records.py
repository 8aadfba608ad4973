"""What is kept about each exchange."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime


@dataclass
class ExchangeRecord:
    request_id: str
    school_id: str
    user_pseudonym: str | None
    model: str
    country: str
    curriculum: str            # country@version
    grade: int | None
    lang: str | None
    mode: str
    stream: bool
    status: str                # ok | upstream_error | client_disconnected | error | unsupervised (benchmarks)
    decision: str | None       # pass | flag | rewrite | block; None when nothing was judged
    rules: list[str] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    original_text: str | None = None
    delivered_text: str | None = None
    error: str | None = None
    latency_ms: float | None = None
    supervision_ms: float | None = None
    attempts: int = 1
    privacy: dict = field(default_factory=dict)   # {"store": full|redacted|hashes, "redacted": {kind: count}}

    def to_dict(self) -> dict:
        return asdict(self)


COLUMNS = list(ExchangeRecord.__dataclass_fields__)
JSON_COLUMNS = {"rules", "findings", "messages", "privacy"}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def exchange_payload(rec: ExchangeRecord, created_at: str) -> dict:
    """What the audit chain holds for an exchange: the stored record and its time."""
    return {**rec.to_dict(), "created_at": created_at}


def exchange_from_row(row: dict) -> dict:
    """A stored exchanges row (either backend) back to the record's values; JSON columns are TEXT."""
    item = dict(row)
    for c in JSON_COLUMNS:
        item[c] = json.loads(item[c]) if isinstance(item[c], str) else item[c]
    item["stream"] = bool(item["stream"])
    return item
