"""``/api/v1/operator/backups``: generations with coverage, one generation, drills (list and
request) and restore requests (the operations manager only) — each route audited by its
own action, refused by role (403) and by missing generation or tenant (404)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from hokan.backup import coverage
from hokan.backup.service import Backups
from hokan.runtime import Runtime
from tests.conftest import OperatorHandle, TenantHandle
from tests.identity.test_operators import op_login
from tests.route_audit import only, refused, trail

B = "/api/v1/operator/backups"


def test_operator_backup_routes_are_audited_exactly(
    runtime: Runtime,
    backups: Backups,
    ops_client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    manager = op_login(ops_client, make_operator(("operations_manager",)))
    auditor = op_login(ops_client, make_operator(("auditor",)))
    general = op_login(ops_client, make_operator(("general_manager",)))
    support = op_login(ops_client, make_operator(("operations_support",)))
    t = make_tenant()
    name = backups.run("vault")["generation"]
    coverage.verify_nightly(backups, 7)

    with trail(runtime) as found:
        listed = ops_client.get(B, headers=auditor)
    assert listed.status_code == 200, listed.text
    only(found, "backup.list", "success")
    [row] = listed.json()
    assert row["generation"] == name and row["action"] == "keep" and row["rule"] == "last"
    assert row["coverage"]["verified_at"] and row["coverage"]["within_window"] is True
    with trail(runtime) as found:
        assert ops_client.get(B, headers=support).status_code == 403
    refused(found, "operator.role_denied", "backup.list")

    with trail(runtime) as found:
        shown = ops_client.get(f"{B}/{name}", headers=auditor)
    assert shown.status_code == 200
    only(found, "backup.read", "success")
    assert shown.json()["signature"] == "valid" and shown.json()["coverage"]["checked_ok"]
    assert "keys" not in shown.json()
    with trail(runtime) as found:
        missing = ops_client.get(f"{B}/20200101T000000Z-daily-abcdef", headers=auditor)
    assert missing.status_code == 404
    assert missing.json()["error"] == "backup_generation_not_found"
    only(found, "backup.read", "error")

    with trail(runtime) as found:
        asked = ops_client.post(f"{B}/drills", headers=general)
    assert asked.status_code == 202 and asked.json()["status"] == "requested"
    only(found, "backup.drill_request", "success")
    with trail(runtime) as found:
        assert ops_client.post(f"{B}/drills", headers=auditor).status_code == 403
    refused(found, "operator.role_denied", "backup.drill_request")
    with trail(runtime) as found:
        drills = ops_client.get(f"{B}/drills", headers=auditor)
    only(found, "backup.drills_list", "success")
    assert [d["id"] for d in drills.json()] == [asked.json()["id"]]

    body = {"generation": name, "mode": "tenant", "tenant": t.tenant.code, "reason": "誤削除"}
    with trail(runtime) as found:
        filed = ops_client.post(f"{B}/restore-requests", headers=manager, json=body)
    assert filed.status_code == 201, filed.text
    only(found, "backup.restore_request", "success")
    assert filed.json()["tenant"] == t.tenant.code and filed.json()["status"] == "requested"
    for who in (general, auditor):  # the operations manager alone (運用責任者)
        with trail(runtime) as found:
            r = ops_client.post(f"{B}/restore-requests", headers=who, json=body)
        assert r.status_code == 403
        refused(found, "operator.role_denied", "backup.restore_request")
    with trail(runtime) as found:
        r = ops_client.post(
            f"{B}/restore-requests", headers=manager, json=body | {"tenant": "nosuch"}
        )
    assert r.status_code in (400, 404, 422) and r.json()["error"] == "unknown_tenant"
    only(found, "backup.restore_request", "error")
    with trail(runtime) as found:
        r = ops_client.post(
            f"{B}/restore-requests",
            headers=manager,
            json=body | {"generation": "20200101T000000Z-daily-abcdef"},
        )
    assert r.status_code == 404 and r.json()["error"] == "backup_generation_not_found"
    only(found, "backup.restore_request", "error")
    with trail(runtime) as found:
        listed = ops_client.get(f"{B}/restore-requests", headers=auditor)
    only(found, "backup.restore_requests_list", "success")
    assert [x["id"] for x in listed.json()] == [filed.json()["id"]]
