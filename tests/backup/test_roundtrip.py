"""Backup → restore into a new data dir: the same rows, the same records (BAK-1, BAK-4)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from hokan.app import create_app
from hokan.backup.service import Backups
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle


def _rows(url: str) -> dict[str, list[tuple[str, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for name in sorted(inspect(conn).get_table_names()):
                rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
                out[name] = sorted(tuple(str(v) for v in r) for r in rows)
            return out
    finally:
        engine.dispose()


def test_round_trip_restores_the_same_rows(
    backups: Backups,
    backup_settings: Settings,
    runtime: Runtime,
    populated: dict[str, dict[str, object]],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    system_url = backup_settings.resolved_backup_database_url
    backups.keyring.backup_kek()  # made on first use: the copy must hold them
    backups.keyring.audit_signing_key()
    before = _rows(system_url)
    keyring_before = _rows(backup_settings.resolved_keyring_url)
    taken = backups.run("daily")  # its own audit entry is written after the snapshot
    assert taken["target"] == "local"
    shown = backups.show(taken["generation"])
    assert shown["row_counts"]["system.db.hbk"]["records"] == len(populated)
    assert shown["audit_chain_heads"], "the manifest names the audit chain heads"
    restored = tmp_path / "restored"
    if system_url.startswith("sqlite"):
        result = backups.restore(taken["generation"], restored)
        after = _rows(f"sqlite:///{restored / 'hokan.db'}")
        keyring_after = _rows(f"sqlite:///{restored / 'keyring.db'}")
        assert (restored / "blobs" / "backup-test/one/blob").read_bytes() == b"blob bytes " * 1000
    else:
        system_to, keyring_to = request.getfixturevalue("scratch_databases")
        result = backups.restore(
            taken["generation"], restored, to_database_url=system_to, to_keyring_url=keyring_to
        )
        after, keyring_after = _rows(system_to), _rows(keyring_to)
    assert after == before
    assert keyring_after == keyring_before
    assert after["records"], "the data set is not empty"
    assert result["seconds"] >= 0


def test_records_read_the_same_through_a_runtime_over_the_restored_dir(
    backups: Backups,
    settings: Settings,
    make_tenant: Callable[..., TenantHandle],
    client: TestClient,
    tmp_path: Path,
    backend: str,
) -> None:
    if backend != "sqlite":
        pytest.skip("a data dir restore is the SQLite embedded default")
    t = make_tenant()
    originals = {}
    for i in range(3):
        client.put(f"/api/v1/collections/staff/records/k{i}", json={"v": i}, headers=t.headers)
        originals[i] = client.get(f"/api/v1/collections/staff/records/k{i}", headers=t.headers)
    taken = backups.run("daily")
    restored = tmp_path / "restored"
    backups.restore(taken["generation"], restored)
    runtime = Runtime(
        Settings(  # type: ignore[call-arg]
            **settings.model_dump(
                include={"env", "master_key", "argon2_time_cost", "argon2_memory_kib"}
            ),
            data_dir=restored,
        )
    )
    try:
        with TestClient(create_app(runtime=runtime), client=("127.0.0.1", 50000)) as again:
            for i, original in originals.items():
                read = again.get(f"/api/v1/collections/staff/records/k{i}", headers=t.headers)
                assert read.status_code == 200
                assert read.content == original.content  # byte-identical
    finally:
        runtime.close()


def test_vault_class_holds_the_fragment_stores_and_system_classes_never(
    backups: Backups, backend: str
) -> None:
    vault = backups.show(backups.run("vault")["generation"])
    daily = backups.show(backups.run("daily")["generation"])
    vault_files = {f["name"] for f in vault["files"]}
    daily_files = {f["name"] for f in daily["files"]}
    assert {"keyring.db.hbk", "vault-store-1.db.hbk"} <= vault_files
    assert "system.db.hbk" not in vault_files
    assert not any(name.startswith("vault-store") for name in daily_files)
    assert {"keyring.db.hbk", "system.db.hbk", "blobs.pack.hbk"} == daily_files
