"""Cryptographic erase of one tenant in every backup generation (KEY-2, LIFE-2)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from hokan.backup import shred
from hokan.backup.service import Backups
from hokan.keyring.service import RECORDS, Sealed
from hokan.models import RecordRevision
from hokan.runtime import Runtime
from tests.conftest import TenantHandle


def _sample(runtime: Runtime, tenant_id: uuid.UUID) -> shred.Sample:
    from sqlalchemy import select

    from hokan.records.service import record_context

    with runtime.db.session(system=True) as s:
        row = s.scalars(
            select(RecordRevision).where(RecordRevision.tenant_id == tenant_id).limit(1)
        ).one()
        assert row.wrapped_dek is not None and row.ciphertext is not None
        return shred.Sample(
            tenant_id,
            RECORDS,
            record_context(row.record_id, row.revision),
            Sealed(row.key_version or 1, row.wrapped_dek, row.ciphertext),
        )


def _tenant(client: TestClient, make_tenant: Callable[..., TenantHandle]) -> TenantHandle:
    t = make_tenant()
    r = client.put("/api/v1/collections/staff/records/x", json={"秘密": "山田"}, headers=t.headers)
    assert r.status_code == 201
    return t


def test_shredding_one_tenant_leaves_every_generation_unable_to_decrypt_it(
    backups: Backups,
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
) -> None:
    doomed, kept = _tenant(client, make_tenant), _tenant(client, make_tenant)
    backups.run("daily")
    backups.run("vault")
    backups.run("monthly")
    doomed_sample, kept_sample = _sample(runtime, doomed.id), _sample(runtime, kept.id)
    # The control: before shredding, every generation decrypts both tenants.
    assert {r["result"] for r in shred.probe(backups, doomed_sample)} == {"decrypts"}
    done = shred.shred_tenant(backups, doomed.id)
    assert len(done) == 3 and all(d["rows_removed"] >= 1 for d in done)
    after = shred.probe(backups, doomed_sample)
    assert len(after) == 3 and {r["result"] for r in after} == {"no_key"}
    assert {r["result"] for r in shred.probe(backups, kept_sample)} == {"decrypts"}
    # Every generation still verifies in full (re-sealed keyring, re-signed manifest).
    assert all(v["ok"] for v in backups.verify(full=True)), backups.verify(full=True)
    shown = backups.show(done[0]["generation"])
    assert shown["shredded"][0]["tenant"] == str(doomed.id)


def test_a_shredded_generation_restores_without_the_tenant(
    backups: Backups,
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    backend: str,
) -> None:
    doomed, kept = _tenant(client, make_tenant), _tenant(client, make_tenant)
    generation = backups.run("daily")["generation"]
    shred.shred_tenant(backups, doomed.id)
    restored = tmp_path / "restored"
    if backend == "sqlite":
        backups.restore(generation, restored)
        keyring_url = f"sqlite:///{restored / 'keyring.db'}"
    else:
        system_to, keyring_to = request.getfixturevalue("scratch_databases")
        backups.restore(generation, restored, to_database_url=system_to, to_keyring_url=keyring_to)
        keyring_url = keyring_to
    engine = create_engine(keyring_url)
    try:
        with engine.connect() as conn:
            owners = {
                str(uuid.UUID(str(v)))
                for (v,) in conn.execute(text("SELECT tenant_id FROM tenant_keys"))
            }
    finally:
        engine.dispose()
    assert str(kept.id) in owners and str(doomed.id) not in owners


def test_a_tampered_manifest_is_not_rewritten(
    backups: Backups, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    from hokan.backup import errors

    doomed = _tenant(client, make_tenant)
    generation = backups.run("daily")["generation"]
    manifest = backups.target("local").root / generation / "manifest.json"  # type: ignore[attr-defined]
    manifest.write_text(manifest.read_text().replace('"daily"', '"monthly"', 1))
    with pytest.raises(errors.ManifestInvalid):
        shred.shred_tenant(backups, doomed.id)
