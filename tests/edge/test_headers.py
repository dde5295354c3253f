"""Security headers on API and HTML responses; no CORS; the docs page runs under the CSP (EDGE-5)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import TenantHandle

COMMON = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _assert_common(headers: dict[str, str] | object) -> None:
    h = headers  # httpx.Headers
    for name, value in COMMON.items():
        assert h[name] == value, name  # type: ignore[index]
    assert "camera=()" in h["permissions-policy"]  # type: ignore[index]
    assert "frame-ancestors 'none'" in h["content-security-policy"]  # type: ignore[index]


def test_api_responses_carry_every_header_and_a_policy_that_allows_nothing(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    for r in (client.get("/api/v1/tenant", headers=t.headers), client.get("/api/v1/tenant")):
        assert r.status_code in (200, 401)
        _assert_common(r.headers)
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        assert "script-src" not in r.headers["content-security-policy"]


def test_html_docs_run_only_scripts_with_this_requests_nonce(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    _assert_common(r.headers)
    csp = r.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([A-Za-z0-9_-]+)'", csp)
    assert nonce is not None
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    scripts = re.findall(r"<script[^>]*>", r.text)
    assert scripts and all(f'nonce="{nonce.group(1)}"' in s for s in scripts)
    assert "onload=" not in r.text and "javascript:" not in r.text
    # Every asset the page loads is same-origin ('self') and served.
    for url in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200, url
    assert client.get("/openapi.json").status_code == 200  # connect-src 'self'
    # A fresh nonce per response.
    again = client.get("/docs").headers["content-security-policy"]
    assert again != csp


def test_no_cors_by_default(client: TestClient, make_tenant: Callable[..., TenantHandle]) -> None:
    t = make_tenant()
    origin = {"Origin": "https://evil.example"}
    r = client.get("/api/v1/tenant", headers={**t.headers, **origin})
    assert "access-control-allow-origin" not in r.headers
    pre = client.options(
        "/api/v1/tenant", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in pre.headers
    assert pre.status_code in (401, 405)
