"""Every maintenance route leaves the entry of the action its service declared (ADR 0014):
success, error when the service refuses, denied when the operator lacks the role —
by action name, never under the route-level fallback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from hokan.runtime import Runtime
from tests.conftest import OperatorHandle, TenantHandle
from tests.identity.test_operators import op_login
from tests.monitoring.conftest import minute
from tests.route_audit import only, refused, trail

M = "/api/v1/operator/maintenance"
MISSING = "00000000-0000-4000-8000-000000000000"


def _body(days: float, hours: float = 2, **more: object) -> dict[str, object]:
    start = minute(timedelta(days=days))
    return {
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=hours)).isoformat(),
        "reason_ja": "ストレージ交換",
        **more,
    }


def test_operator_maintenance_routes_are_audited_exactly(
    runtime: Runtime,
    ops_client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    manager = op_login(ops_client, make_operator(("operations_manager",)))
    auditor = op_login(ops_client, make_operator(("auditor",)))
    support = op_login(ops_client, make_operator(("operations_support",)))
    t = make_tenant()

    with trail(runtime) as found:
        created = ops_client.post(M, headers=manager, json=_body(15, tenant=t.tenant.code))
    assert created.status_code == 201, created.text
    # On the system chain and on the tenant's own.
    assert found == {"maintenance.schedule": ["success", "success"]}
    window = created.json()
    assert window["tenant"] == t.tenant.code and window["status"] == "scheduled"
    assert window["emergency"] is False and window["notice_days"] >= 14

    with trail(runtime) as found:
        short = ops_client.post(M, headers=manager, json=_body(3))
    assert short.status_code == 422 and short.json()["error"] == "maintenance_notice_too_short"
    only(found, "maintenance.schedule", "error")
    with trail(runtime) as found:
        emergency = ops_client.post(M, headers=manager, json=_body(3, emergency=True))
    assert emergency.status_code == 201 and emergency.json()["emergency"] is True
    only(found, "maintenance.schedule", "success")  # service-wide: the system chain only
    with trail(runtime) as found:
        clash = ops_client.post(M, headers=manager, json=_body(3, emergency=True))
    assert clash.status_code == 409 and clash.json()["error"] == "maintenance_overlap"
    only(found, "maintenance.schedule", "error")
    with trail(runtime) as found:
        assert ops_client.post(M, headers=auditor, json=_body(15)).status_code == 403
    refused(found, "operator.role_denied", "maintenance.schedule")

    with trail(runtime) as found:
        listed = ops_client.get(M, headers=auditor)
    assert listed.status_code == 200
    only(found, "maintenance.list", "success")
    assert {w["id"] for w in listed.json()} == {window["id"], emergency.json()["id"]}
    with trail(runtime) as found:
        assert ops_client.get(M, headers=support).status_code == 403
    refused(found, "operator.role_denied", "maintenance.list")

    with trail(runtime) as found:
        gone = ops_client.delete(f"{M}/{window['id']}", headers=manager)
    assert gone.status_code == 200 and gone.json()["status"] == "cancelled"
    assert found == {"maintenance.cancel": ["success", "success"]}  # system and tenant chains
    with trail(runtime) as found:
        again = ops_client.delete(f"{M}/{window['id']}", headers=manager)
    assert again.status_code == 409 and again.json()["reason"] == "cancelled"
    only(found, "maintenance.cancel", "error")
    with trail(runtime) as found:
        missing = ops_client.delete(f"{M}/{MISSING}", headers=manager)
    assert missing.status_code == 404 and missing.json()["error"] == "maintenance_not_found"
    only(found, "maintenance.cancel", "error")
    with trail(runtime) as found:
        assert ops_client.delete(f"{M}/{MISSING}", headers=auditor).status_code == 403
    refused(found, "operator.role_denied", "maintenance.cancel")

    with trail(runtime) as found:
        everything = ops_client.get(f"{M}?include_past=true", headers=auditor)
    only(found, "maintenance.list", "success")
    assert {w["status"] for w in everything.json()} == {"cancelled", "scheduled"}


def test_a_tenant_reads_its_own_and_the_service_wide_windows_only(
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    manager = op_login(client, make_operator(("operations_manager",)))
    a, b = make_tenant(), make_tenant()
    mine = client.post(M, headers=manager, json=_body(15, tenant=a.tenant.code)).json()
    theirs = client.post(M, headers=manager, json=_body(16, tenant=b.tenant.code)).json()
    everyone = client.post(M, headers=manager, json=_body(17)).json()

    with trail(runtime) as found:
        r = client.get("/api/v1/tenant/maintenance", headers=a.headers)
    assert r.status_code == 200
    only(found, "maintenance.list_own", "success")
    assert [w["id"] for w in r.json()] == [mine["id"], everyone["id"]]
    assert theirs["id"] not in r.text and b.tenant.code not in r.text
    assert all("tenant" not in w and "created_by" not in w for w in r.json())
    # Tenant administration only: a token without it is refused.
    reader = make_tenant(scopes=frozenset({"records:read"}))
    assert client.get("/api/v1/tenant/maintenance", headers=reader.headers).status_code == 403
    assert client.get(M, headers=a.headers).status_code in (401, 403)
