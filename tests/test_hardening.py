"""Hardening: every response carries security headers (static files and 404 pages included)."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize("path", ["/review/static/review.css", "/no-such-page", "/review/no-such-page", "/healthz"])
def test_every_response_carries_security_headers(review_server, path):
    r = httpx.get(f"{review_server.url}{path}", timeout=60)
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
