"""Tenant isolation matrix over every API endpoint (TEN-2).

The matrix enumerates the app's routes, so a new endpoint is covered the day it
is added: no token → 401, revoked or expired token → 401, another tenant's
object → 404 (never 403, never data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from hokan.app import create_app
from hokan.httpkit import routes as edge_routes
from hokan.kit.clock import utcnow
from hokan.models import ApiToken
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle

PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",  # no token: limited to HOKAN_METRICS_CIDRS (tests/monitoring)
    "/status",  # the public status page (MON-4, UI-3; tests/monitoring)
    "/status.json",
    "/status/feed.atom",
    "/openapi.json",
    "/docs",
    "/api/v1/auth/login",
    "/api/v1/operator/auth/login",
    "/api/v1/password-setup",  # a one-time token in the body, no credentials (LIFE-1)
}
PARAMS = {
    "collection": "staff",
    "record_id": "victim",
    "revision": "1",
    "attachment_id": "00000000-0000-4000-8000-000000000001",
    "serial": "6085741910418999",
    "grant_id": "00000000-0000-4000-8000-000000000000",
    "contact_id": "00000000-0000-4000-8000-000000000000",
    "finding_id": "00000000-0000-4000-8000-000000000000",
    "prefix": "hk_aaaaaaaa",
    "address": "198.51.100.1",
    "entry_id": "00000000-0000-4000-8000-000000000000",
    "name": "audit.daily_review",
    "number": "INC-2026-0001",
    "window_id": "00000000-0000-4000-8000-000000000000",
    "report_id": "00000000-0000-4000-8000-000000000000",
    "generation": "20260101T000000Z-daily-abcdef",
}


def api_routes() -> list[tuple[str, str]]:
    app = create_app(Settings(env="test", data_dir=Path("/nonexistent")))  # routes only: lazy
    routes = [(m, p) for m, p in edge_routes.api_routes(app) if p not in PUBLIC]
    documented = {
        (m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops if p not in PUBLIC
    }
    assert documented <= set(routes), documented - set(routes)
    return routes


ROUTES = api_routes()


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path)


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    body = {"json": {"x": 1}} if method in {"PUT", "POST", "PATCH"} else {}
    if path.endswith("/schema") and method == "PUT":
        body = {"json": {"type": "object"}}
    return client.request(method, _url(path), headers=headers, **body).status_code  # type: ignore[arg-type]


def test_every_route_is_in_the_matrix() -> None:
    assert len(ROUTES) >= 11
    assert all(path.startswith("/api/v1/") for _, path in ROUTES)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_no_token_is_401(client: TestClient, method: str, path: str) -> None:
    assert _call(client, method, path, {}) == 401
    assert _call(client, method, path, {"Authorization": "Bearer nonsense"}) == 401
    assert _call(client, method, path, {"Authorization": "Basic dXNlcjpwYXNz"}) == 401


def test_revoked_and_expired_tokens_are_401(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    revoked, expired, good = make_tenant(), make_tenant(), make_tenant()
    with runtime.db.session(write=True, system=True) as s:
        s.execute(
            update(ApiToken).where(ApiToken.tenant_id == revoked.id).values(revoked_at=utcnow())
        )
        s.execute(
            update(ApiToken)
            .where(ApiToken.tenant_id == expired.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    for method, path in ROUTES:
        assert _call(client, method, path, revoked.headers) == 401, (method, path)
        assert _call(client, method, path, expired.headers) == 401, (method, path)
        # The same token with one character changed is not accepted either.
        forged = good.token[:-1] + ("A" if good.token[-1] != "A" else "B")
        assert _call(client, method, path, {"Authorization": f"Bearer {forged}"}) == 401


def test_another_tenants_objects_are_404(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    owner, other = make_tenant(), make_tenant()
    assert (
        client.put(
            _url("/api/v1/collections/{collection}/records/{record_id}"),
            json={"secret": "owner-only"},
            headers=owner.headers,
        ).status_code
        == 201
    )
    client.put("/api/v1/collections/staff/schema", json={"type": "object"}, headers=owner.headers)
    for method, path in ROUTES:
        if "{record_id}" not in path and not path.endswith("/schema"):
            continue
        if method in {"PUT"}:
            continue  # PUT on the other tenant's id creates the other tenant's own record
        status = _call(client, method, path, other.headers)
        assert status == 404, (method, path, status)
    # Listings show only the caller's own data.
    assert (
        client.get("/api/v1/collections/staff/records", headers=other.headers).json()["items"] == []
    )
    assert client.get("/api/v1/collections", headers=other.headers).json() == []
    # The owner's record is untouched by anything the other tenant did.
    r = client.get(
        _url("/api/v1/collections/{collection}/records/{record_id}"), headers=owner.headers
    )
    assert r.json()["data"] == {"secret": "owner-only"}
    assert r.json()["revision"] == 1


def test_put_with_same_id_creates_a_separate_record(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    owner, other = make_tenant(), make_tenant()
    client.put(
        "/api/v1/collections/staff/records/victim", json={"v": "owner"}, headers=owner.headers
    )
    r = client.put(
        "/api/v1/collections/staff/records/victim", json={"v": "other"}, headers=other.headers
    )
    assert r.status_code == 201
    assert client.get("/api/v1/collections/staff/records/victim", headers=owner.headers).json()[
        "data"
    ] == {"v": "owner"}


def test_scopes_are_enforced(client: TestClient, make_tenant: Callable[..., TenantHandle]) -> None:
    reader = make_tenant(scopes=frozenset({"records:read"}))
    r = client.put("/api/v1/collections/staff/records/x", json={}, headers=reader.headers)
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_scope"
    assert (
        client.get("/api/v1/collections/staff/records", headers=reader.headers).status_code == 200
    )
    r = client.put(
        "/api/v1/collections/staff/schema", json={"type": "object"}, headers=reader.headers
    )
    assert r.status_code == 403


def test_suspended_tenant_is_refused(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    from hokan.models import TenantStatus
    from hokan.principals.principal import SYSTEM

    t = make_tenant()
    with runtime.db.session(write=True, system=True) as s:
        runtime.tenants.set_status(s, t.tenant.code, TenantStatus.suspended, SYSTEM)
    r = client.get("/api/v1/collections", headers=t.headers)
    assert r.status_code == 403
    assert r.json()["error"] == "tenant_inactive"
