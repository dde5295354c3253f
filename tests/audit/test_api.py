"""A tenant's own operation log over HTTP (AUD-3): JSON pages with filters, and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import TenantHandle


def test_tenant_reads_only_its_own_log(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    a, b = make_tenant(), make_tenant()
    for i in range(3):
        client.put(f"/api/v1/collections/staff/records/r{i}", json={"i": i}, headers=a.headers)
    client.get("/api/v1/collections/staff/records/missing", headers=a.headers)
    client.put("/api/v1/collections/staff/records/b-only", json={}, headers=b.headers)

    page = client.get("/api/v1/audit/events", params={"limit": 4}, headers=a.headers).json()
    assert [e["seq"] for e in page["items"]] == [1, 2, 3, 4]
    assert page["items"][2]["action"] == "records.create"
    assert page["items"][2]["target"] == {"type": "record", "id": "staff/r0"}
    assert page["items"][2]["occurred_at_jst"].endswith("+09:00")
    rest = client.get(
        "/api/v1/audit/events", params={"cursor": page["next_cursor"]}, headers=a.headers
    ).json()
    seen = page["items"] + rest["items"]
    assert "b-only" not in str(seen)
    assert all(e["target"]["id"] != "staff/b-only" for e in seen)

    errors = client.get(
        "/api/v1/audit/events", params={"result": "error"}, headers=a.headers
    ).json()["items"]
    assert [(e["action"], e["detail"]) for e in errors] == [
        ("records.read", {"error": "record_not_found"})
    ]
    creates = client.get(
        "/api/v1/audit/events", params={"action": "records."}, headers=a.headers
    ).json()["items"]
    assert {e["action"] for e in creates} == {"records.create", "records.read"}
    # Reading the log is itself recorded.
    last = client.get(
        "/api/v1/audit/events", params={"action": "audit.read"}, headers=a.headers
    ).json()["items"]
    assert len(last) >= 3
    bad = client.get("/api/v1/audit/events", params={"result": "maybe"}, headers=a.headers)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_parameter")


def test_csv_export_opens_in_excel(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    client.put("/api/v1/collections/staff/records/山田", json={"v": 1}, headers=t.headers)
    r = client.get("/api/v1/audit/events.csv", headers=t.headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 Japanese correctly
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    # Record ids are ASCII, so this PUT failed: the attempt is logged with its target.
    assert [(row["action"], row["result"]) for row in rows][:3] == [
        ("tenant.create", "success"),
        ("token.create", "success"),
        ("records.replace", "error"),
    ]
    assert rows[2]["target_id"] == "staff/山田"
    assert rows[2]["detail"] == '{"error":"invalid_name"}'


def test_audit_log_needs_its_scope(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant(scopes=frozenset({"records:read"}))
    assert client.get("/api/v1/audit/events", headers=t.headers).status_code == 403
    assert client.get("/api/v1/audit/events").status_code == 401
