"""``hokan restore --tenant``: one tenant's records, revisions and attachments put back into
the live service as they were in a generation; every other tenant untouched; the audit
trail kept append-only, with the restore's own entry (BAK-4, ADR 0023)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.backup import errors
from hokan.backup.service import Backups
from hokan.backup.tenant_restore import restore_tenant
from hokan.models import AuditEvent
from hokan.runtime import Runtime
from tests.conftest import TenantHandle

BASE = "/api/v1/collections/staff/records"
PDF = b"%PDF-1.7\n" + "給与明細 山田太郎\n".encode() * 200 + b"%%EOF\n"


def _read_all(client: TestClient, t: TenantHandle) -> dict[str, bytes]:
    listed = client.get(BASE, headers=t.headers)
    keys = sorted(item["id"] for item in listed.json()["items"])
    out = {k: client.get(f"{BASE}/{k}", headers=t.headers).content for k in keys}
    out["/"] = listed.content
    # The maintained record counts too (recounted by the triggers as the rows come back).
    out["collections"] = client.get("/api/v1/collections", headers=t.headers).content
    for k in keys:
        history = client.get(f"{BASE}/{k}/revisions", headers=t.headers)
        out[f"{k}/revisions"] = history.content
        out[f"{k}/attachments"] = client.get(f"{BASE}/{k}/attachments", headers=t.headers).content
    return out


def test_one_tenant_comes_back_and_the_others_are_untouched(
    backups: Backups,
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
) -> None:
    a, b = make_tenant(), make_tenant()
    for t in (a, b):
        for i in range(3):
            r = client.put(f"{BASE}/k{i}", json={"v": i, "名前": "山田"}, headers=t.headers)
            assert r.status_code == 201, r.text
        client.put(f"{BASE}/k0", json={"v": 10}, headers=t.headers)  # a second revision
    r = client.post(
        f"{BASE}/k1/attachments",
        files={"file": ("p.pdf", PDF, "application/pdf")},
        headers=a.headers,
    )
    assert r.status_code == 201, r.text
    attachment = r.json()["id"]
    a_before = _read_all(client, a)
    generation = backups.run("daily")["generation"]

    # After the backup both tenants change: A loses a record and its attachment, gains one.
    assert (
        client.delete(f"{BASE}/k1/attachments/{attachment}", headers=a.headers).status_code == 204
    )
    assert client.delete(f"{BASE}/k2", headers=a.headers).status_code == 204
    assert client.put(f"{BASE}/new", json={"v": 99}, headers=a.headers).status_code == 201
    client.put(f"{BASE}/k0", json={"v": 11}, headers=a.headers)
    client.put(f"{BASE}/k0", json={"v": 20}, headers=b.headers)
    client.put(f"{BASE}/b-new", json={"v": 21}, headers=b.headers)
    b_before = _read_all(client, b)
    a_chain_before = _events(runtime, a)

    result = restore_tenant(backups, generation, a.id)
    assert result["rows"]["records"] == 3 and result["blobs"] == 1
    assert result["rows"] == result["rows_in_manifest"]
    assert isinstance(result["duration_ms"], int)

    assert _read_all(client, a) == a_before  # byte-identical reads, attachments listed
    got = client.get(f"{BASE}/k1/attachments/{attachment}", headers=a.headers)
    assert got.status_code == 200 and got.content == PDF
    assert _read_all(client, b) == b_before  # the other tenant: exactly as it was
    events = _events(runtime, a)
    assert events[: len(a_chain_before)] == a_chain_before  # append-only
    [restored] = [e for e in events if e[0] == "backup.restore_tenant"]
    assert isinstance(restored[1]["duration_ms"], int)
    # Writing goes on after the restore (revision numbers continue from the restored ones).
    r = client.put(f"{BASE}/k0", json={"v": 12}, headers=a.headers)
    assert r.status_code == 200, r.text


def _events(runtime: Runtime, t: TenantHandle) -> list[tuple[str, dict[str, object]]]:
    with runtime.db.session(system=True) as s:
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.detail)
            .where(AuditEvent.tenant_id == t.id)
            .order_by(AuditEvent.seq)
        )
        return [(str(action), dict(detail or {})) for action, detail in rows]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_tenant_whose_keys_were_destroyed_is_refused(
    backups: Backups, runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    assert client.put(f"{BASE}/x", json={"v": 1}, headers=t.headers).status_code == 201
    generation = backups.run("daily")["generation"]
    runtime.keyring.destroy_tenant(t.id)
    with pytest.raises(errors.RestoreRefused) as caught:
        restore_tenant(backups, generation, t.id)
    assert caught.value.reason == "tenant_keys"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_tenant_not_in_the_generation_is_refused(
    backups: Backups, make_tenant: Callable[..., TenantHandle]
) -> None:
    generation = backups.run("daily")["generation"]
    late = make_tenant()
    with pytest.raises(errors.RestoreRefused) as caught:
        restore_tenant(backups, generation, late.id)
    assert caught.value.reason == "tenant_absent"
