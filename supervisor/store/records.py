"""What is kept about each exchange."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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

    def to_dict(self) -> dict:
        return asdict(self)
