"""The calling tenant's profile over HTTP."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import TenantHandle


def test_own_tenant_profile(client: TestClient, make_tenant: Callable[..., TenantHandle]) -> None:
    a, b = make_tenant(), make_tenant()
    body = client.get("/api/v1/tenant", headers=a.headers).json()
    assert body["code"] == a.tenant.code
    assert body["product"] == "staff"
    assert body["status"] == "active"
    assert body["settings"]["lockout_threshold"] == 5
    assert body["settings"]["lockout_minutes"] == 30
    assert client.get("/api/v1/tenant", headers=b.headers).json()["code"] == b.tenant.code
    assert client.get("/api/v1/tenant").status_code == 401
