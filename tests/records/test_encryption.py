"""Encryption at rest (REC-5, KEY-1, KEY-2) and context binding of ciphertexts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from hokan.models import Record
from hokan.runtime import Runtime
from tests.conftest import TenantHandle

MARKER = "極秘マーカー-7f3a9c-UNIQUE-VALUE"


def _raw_sqlite_bytes(url: str) -> bytes:
    path = Path(str(make_url(url).database))
    out = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            out += candidate.read_bytes()
    return out


def _raw_postgres_text(runtime: Runtime, keyring: bool) -> str:
    db = runtime.keyring_db if keyring else runtime.db
    with db.engine.connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        ]
        dump = []
        for table in tables:
            dump += [str(r[0]) for r in conn.execute(text(f'SELECT t::text FROM "{table}" t'))]
    return "\n".join(dump)


def test_payload_is_not_stored_in_clear(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    for i in range(3):
        r = client.put(
            f"/api/v1/collections/staff/records/m{i}",
            json={"note": MARKER, "i": i},
            headers=t.headers,
        )
        assert r.status_code == 201
    client.patch("/api/v1/collections/staff/records/m0", json={"extra": MARKER}, headers=t.headers)
    assert (
        client.get("/api/v1/collections/staff/records/m0", headers=t.headers).json()["data"]["note"]
        == MARKER
    )

    system_url = runtime.settings.resolved_database_url
    keyring_url = runtime.settings.resolved_keyring_url
    assert system_url != keyring_url
    needles = [MARKER.encode(), MARKER.encode("utf-16-le"), "極秘マーカー".encode()]
    if runtime.db.dialect == "sqlite":
        assert (
            Path(str(make_url(system_url).database)).resolve()
            != Path(str(make_url(keyring_url).database)).resolve()
        )
        raw = _raw_sqlite_bytes(system_url) + _raw_sqlite_bytes(keyring_url)
        assert len(raw) > 10_000
        for needle in needles:
            assert needle not in raw
    else:
        assert make_url(system_url).database != make_url(keyring_url).database
        dump = _raw_postgres_text(runtime, keyring=False) + _raw_postgres_text(
            runtime, keyring=True
        )
        assert len(dump) > 500
        assert MARKER not in dump
        assert "極秘" not in dump
        assert MARKER.encode().hex() not in dump


def _seal_columns(runtime: Runtime, tenant: TenantHandle, key: str) -> dict[str, object]:
    with runtime.db.session(system=True) as s:
        rec = s.scalars(
            select(Record).where(Record.tenant_id == tenant.id, Record.record_key == key)
        ).one()
        return {
            "key_version": rec.key_version,
            "wrapped_dek": rec.wrapped_dek,
            "ciphertext": rec.ciphertext,
            "revision": rec.revision,
        }


def _overwrite(runtime: Runtime, tenant: TenantHandle, key: str, values: dict[str, object]) -> None:
    with runtime.db.session(write=True, system=True) as s:
        s.execute(
            update(Record)
            .where(Record.tenant_id == tenant.id, Record.record_key == key)
            .values(**values)
        )


def test_ciphertext_swapped_between_records_fails_to_decrypt(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    client.put("/api/v1/collections/staff/records/a", json={"owner": "a"}, headers=t.headers)
    client.put("/api/v1/collections/staff/records/b", json={"owner": "b"}, headers=t.headers)
    _overwrite(
        runtime, t, "b", _seal_columns(runtime, t, "a")
    )  # same revision number, other record
    r = client.get("/api/v1/collections/staff/records/b", headers=t.headers)
    assert r.status_code == 500
    assert r.json()["error"] == "decryption_failed"
    assert "owner" not in r.text


def test_ciphertext_replayed_onto_another_revision_fails(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    client.put("/api/v1/collections/staff/records/a", json={"v": "old"}, headers=t.headers)
    old = _seal_columns(runtime, t, "a")
    client.put("/api/v1/collections/staff/records/a", json={"v": "new"}, headers=t.headers)
    old.pop("revision")
    _overwrite(runtime, t, "a", old)  # roll the payload back, keep revision 2
    r = client.get("/api/v1/collections/staff/records/a", headers=t.headers)
    assert r.json()["error"] == "decryption_failed"


def test_ciphertext_swapped_between_tenants_fails_to_decrypt(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t1, t2 = make_tenant(), make_tenant()
    client.put("/api/v1/collections/staff/records/a", json={"owner": "t1"}, headers=t1.headers)
    client.put("/api/v1/collections/staff/records/a", json={"owner": "t2"}, headers=t2.headers)
    _overwrite(runtime, t2, "a", _seal_columns(runtime, t1, "a"))
    r = client.get("/api/v1/collections/staff/records/a", headers=t2.headers)
    assert r.status_code == 500
    assert r.json()["error"] == "decryption_failed"
    assert "t1" not in r.text
    # The victim's own record still reads fine.
    assert client.get("/api/v1/collections/staff/records/a", headers=t1.headers).json()["data"] == {
        "owner": "t1"
    }


def test_rotation_keeps_old_data_readable_and_rewrap_moves_it(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    from hokan.records.tasks import rewrap_tenant

    t = make_tenant()
    client.put("/api/v1/collections/staff/records/a", json={"v": 1}, headers=t.headers)
    assert _seal_columns(runtime, t, "a")["key_version"] == 1
    assert runtime.keyring.rotate(t.id) == 2
    assert client.get("/api/v1/collections/staff/records/a", headers=t.headers).json()["data"] == {
        "v": 1
    }
    client.put("/api/v1/collections/staff/records/b", json={"v": 2}, headers=t.headers)
    assert _seal_columns(runtime, t, "b")["key_version"] == 2
    assert rewrap_tenant(runtime.db, runtime.keyring, t.id) == 2  # record a + its one revision
    assert _seal_columns(runtime, t, "a")["key_version"] == 2
    assert rewrap_tenant(runtime.db, runtime.keyring, t.id) == 0
    assert client.get("/api/v1/collections/staff/records/a", headers=t.headers).json()["data"] == {
        "v": 1
    }
    assert client.get("/api/v1/collections/staff/records/a/revisions/1", headers=t.headers).json()[
        "data"
    ] == {"v": 1}


def test_destroyed_keys_make_data_unreadable(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t, bystander = make_tenant(), make_tenant()
    client.put("/api/v1/collections/staff/records/a", json={"v": 1}, headers=t.headers)
    client.put("/api/v1/collections/staff/records/a", json={"v": 2}, headers=bystander.headers)
    assert runtime.keyring.destroy_tenant(t.id) == 1
    r = client.get("/api/v1/collections/staff/records/a", headers=t.headers)
    assert r.status_code == 410
    assert r.json()["error"] == "tenant_keys_destroyed"
    assert client.get("/api/v1/collections/staff/records/a", headers=bystander.headers).json()[
        "data"
    ] == {"v": 2}
