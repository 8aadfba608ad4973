"""Prometheus metrics at `GET /metrics`: what every gateway a school runs exposes.

- `supervisor_decisions_total{country, decision, endpoint}`: every decision (chat, supervise, litellm_guardrail);
- `supervisor_rule_decisions_total{country, rule, decision}`: each rule that acted, with the decision it led to;
- `supervisor_request_duration_seconds{endpoint}` (histogram): from request to the last byte of the answer,
  streams included;
- `supervisor_supervision_duration_seconds` (histogram): the supervisor's own share of a chat answer;
- `supervisor_upstream_errors_total{model, error}`: failed upstream calls (timeouts, refusals, broken streams);
- `supervisor_requests_in_flight{endpoint}`: requests being served now, the proxy's queue.

Labels are ids and decisions only: never a school's key, a student or any text. One registry per app (no
process globals), so replicas and tests never mix counts. With `SUPERVISOR_METRICS_TOKEN` set, scraping needs
`Authorization: Bearer <token>`; without it the page is open, so keep the port off the internet (in
deploy/compose.yaml only the reverse proxy is published, and it does not route /metrics).
"""

from __future__ import annotations

import hmac
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
SUPERVISION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# request paths worth a label of their own; anything else (review pages, static files) is "other"
ENDPOINTS = {"/v1/chat/completions": "chat", "/v1/supervise": "supervise",
             "/beta/litellm_basic_guardrail_api": "litellm_guardrail", "/v1/models": "models"}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.decisions = Counter("supervisor_decisions", "Decisions, by country, decision and endpoint",
                                 ["country", "decision", "endpoint"], registry=r)
        self.rule_decisions = Counter("supervisor_rule_decisions", "Rules that acted, by the decision they led to",
                                      ["country", "rule", "decision"], registry=r)
        self.request_seconds = Histogram("supervisor_request_duration_seconds",
                                         "Request to last byte of the answer", ["endpoint"],
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.supervision_seconds = Histogram("supervisor_supervision_duration_seconds",
                                             "The supervisor's share of a chat answer", buckets=SUPERVISION_BUCKETS,
                                             registry=r)
        self.upstream_errors = Counter("supervisor_upstream_errors", "Failed upstream calls", ["model", "error"],
                                       registry=r)
        self.in_flight = Gauge("supervisor_requests_in_flight", "Requests being served now", ["endpoint"],
                               registry=r)

    def decided(self, *, country: str, decision: str | None, rules, endpoint: str,
                supervision_ms: float | None = None) -> None:
        decision = decision or "none"  # an answer cut short by a failure has no decision
        self.decisions.labels(country, decision, endpoint).inc()
        for rule in rules or ():
            self.rule_decisions.labels(country, rule, decision).inc()
        if supervision_ms is not None:
            self.supervision_seconds.observe(supervision_ms / 1000)

    def upstream_failed(self, model: str, error: str) -> None:
        self.upstream_errors.labels(model, error).inc()


class RequestMetrics:
    """Pure ASGI middleware: requests in flight and their duration to the last byte (a stream's too)."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        endpoint = ENDPOINTS.get(scope.get("path", "")) if scope["type"] == "http" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        gauge = self.metrics.in_flight.labels(endpoint)
        gauge.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            gauge.dec()
            self.metrics.request_seconds.labels(endpoint).observe(time.perf_counter() - started)


async def metrics_page(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return JSONResponse({"error": {"message": "metrics need `Authorization: Bearer <SUPERVISOR_METRICS_TOKEN>`",
                                           "type": "invalid_request_error", "param": None,
                                           "code": "invalid_api_key"}}, status_code=401)
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
