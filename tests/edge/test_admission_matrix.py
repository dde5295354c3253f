"""Admission on every authenticated route, by construction (issue 11; EDGE-1, EDGE-2).

The matrix walks the app's routes, so a new route is covered the day it is added:
a caller outside the tenant's allow-list → 403 ``network_not_allowed``; a
terminal certificate of another tenant → 403 ``certificate_tenant_mismatch``;
a token without the route's scope → 403. The refusals are audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hokan.app import create_app
from hokan.httpkit import routes as edge_routes
from hokan.models import AuditEvent, Tenant
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests import pki
from tests.conftest import TenantHandle

FRONT = "127.0.0.1"
pytestmark = pytest.mark.edge_settings(trusted_proxies="127.0.0.1/32")

PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs"}
# Routes that take no credentials at all (they authenticate the caller themselves).
LOGIN = {"/api/v1/auth/login", "/api/v1/operator/auth/login", "/api/v1/password-setup"}
# Routes any admitted caller of a tenant may use, whatever the token's scopes.
ANY_SCOPE = {
    ("GET", "/api/v1/tenant"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password"),
    ("POST", "/api/v1/auth/totp/setup"),
    ("POST", "/api/v1/auth/totp/enable"),
}
PARAMS = {
    "collection": "staff",
    "record_id": "r-1",
    "revision": "1",
    "attachment_id": "00000000-0000-4000-8000-000000000001",
    "serial": "6085741910418999",
    "grant_id": "00000000-0000-4000-8000-000000000000",
    "contact_id": "00000000-0000-4000-8000-000000000000",
    "finding_id": "00000000-0000-4000-8000-000000000000",
    "prefix": "hk_aaaaaaaa",
    "address": "198.51.100.1",
    "entry_id": "00000000-0000-4000-8000-000000000000",
}

# Bodies that pass validation, where a route validates its body before its own checks.
BODIES = {("POST", "/api/v1/tokens"): {"name": "t", "scopes": ["records:read"]}}


def _routes() -> list[tuple[str, str]]:
    app = create_app(Settings(env="test", data_dir=Path("/nonexistent")))  # routes only: lazy
    return [
        (m, p)
        for m, p in edge_routes.api_routes(app)
        if p not in PUBLIC and p not in LOGIN and p.startswith("/api/v1/")
    ]


ROUTES = _routes()
TENANT_ROUTES = [(m, p) for m, p in ROUTES if not p.startswith("/api/v1/operator/")]


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path)


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> tuple[int, str]:
    payload = BODIES.get((method, path), {"x": 1})
    body = {"json": payload} if method in {"PUT", "POST", "PATCH"} else {}
    r = client.request(method, _url(path), headers=headers, **body)  # type: ignore[arg-type]
    try:
        body_json = r.json() if r.content else {}
    except ValueError:
        body_json = {}
    code = body_json.get("error", "") if isinstance(body_json, dict) else ""
    return r.status_code, str(code)


def _count(runtime: Runtime, action: str, result: str) -> int:
    with runtime.db.session(system=True) as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.result == result)
            )
            or 0
        )


def test_the_matrix_covers_the_vault_and_every_domain() -> None:
    paths = {p for _, p in TENANT_ROUTES}
    for prefix in ("/api/v1/vault/", "/api/v1/collections", "/api/v1/audit/", "/api/v1/users"):
        assert any(p.startswith(prefix) for p in paths), prefix
    assert len(TENANT_ROUTES) >= 40


def test_a_caller_outside_the_tenants_allow_list_is_refused_on_every_route(
    app_client: Callable[[str], TestClient],
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
) -> None:
    t = make_tenant()
    with runtime.db.session(write=True, system=True) as s:
        row = s.get(Tenant, t.id)
        assert row is not None
        row.settings = {**(row.settings or {}), "allowed_cidrs": ["133.1.0.0/16"]}
    outside, inside = app_client("1.0.16.1"), app_client("133.1.1.1")
    before = _count(runtime, "edge.admit", "denied")
    wrong = []
    for method, path in TENANT_ROUTES:
        status, code = _call(outside, method, path, t.headers)
        if (status, code) != (403, "network_not_allowed"):
            wrong.append((method, path, status, code))
    assert wrong == []
    assert _count(runtime, "edge.admit", "denied") - before == len(TENANT_ROUTES)
    # From inside the list the same calls get past admission.
    for method, path in TENANT_ROUTES:
        status, code = _call(inside, method, path, t.headers)
        assert code != "network_not_allowed", (method, path)


def test_another_tenants_terminal_certificate_is_refused_on_every_route(
    app_client: Callable[[str], TestClient],
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    tmp_path: Path,
) -> None:
    pki.init_ca(runtime)
    a, b = make_tenant(), make_tenant()
    cert_a = pki.issue(runtime, a.id, tmp_path)
    foreign = {
        **b.headers,
        "X-Client-Cert": quote(cert_a.cert_pem.decode()),
        "X-Client-Verify": "SUCCESS",
    }
    front = app_client(FRONT)
    wrong = []
    for method, path in TENANT_ROUTES:
        status, code = _call(front, method, path, foreign)
        if (status, code) != (403, "certificate_tenant_mismatch"):
            wrong.append((method, path, status, code))
    assert wrong == []


def test_a_token_without_the_routes_scope_is_refused_on_every_route(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    # Each route needs one permission: one of two disjoint tokens lacks it.
    reader = make_tenant(scopes=frozenset({"records:read"}))
    auditor = make_tenant(scopes=frozenset({"audit:read"}))
    for method, path in TENANT_ROUTES:
        if (method, path) in ANY_SCOPE:
            continue
        results = [_call(client, method, path, t.headers) for t in (reader, auditor)]
        assert any(status == 403 for status, _ in results), (method, path, results)
