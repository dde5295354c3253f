"""Store files that go missing or go bad (issue 12 C): never recreated behind the
operator's back, reported by /readyz, and rebuilt by ``hokan vault repair``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from hokan.runtime import Runtime
from hokan.vault import maintenance
from tests.conftest import TenantHandle
from tests.vault.conftest import PNG, valid_number
from tests.vault.test_storage import REVEAL, _register_both


def _path(runtime: Runtime, idx: int) -> Path:
    return Path(make_url(runtime.vault_stores.urls[idx]).database or "")


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("store files: SQLite")


def test_deleted_store_files_are_not_recreated_and_readyz_says_so(
    sqlite_only: None, client: TestClient, runtime: Runtime, clerk_token: TenantHandle
) -> None:
    num_id, _ = _register_both(client, clerk_token, valid_number(), PNG)
    for idx in (0, 1):
        runtime.vault_stores.dbs[idx].dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{_path(runtime, idx)}{suffix}").unlink(missing_ok=True)
    r = client.get("/readyz")
    assert r.json()["components"]["vault_stores"] == "unavailable"
    assert r.json()["components"]["vault_stores_reachable"] == "1/3"
    r = client.post(REVEAL.format(num_id), json={"purpose": "tax"}, headers=clerk_token.headers)
    assert r.status_code == 503
    assert not _path(runtime, 0).exists() and not _path(runtime, 1).exists()


def test_an_empty_database_in_place_of_a_store_is_not_healthy(
    sqlite_only: None, client: TestClient, runtime: Runtime
) -> None:
    runtime.vault_stores.dbs[2].dispose()
    path = _path(runtime, 2)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    sqlite3.connect(path).close()  # an empty SQLite file: answers, holds nothing
    components = client.get("/readyz").json()["components"]
    assert components["vault_stores"] == "degraded"
    assert components["vault_stores_reachable"] == "2/3"


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_repair_moves_a_broken_store_file_aside_and_rebuilds_it(
    sqlite_only: None,
    client: TestClient,
    runtime: Runtime,
    clerk_token: TenantHandle,
    damage: str,
) -> None:
    num_id, doc_id = _register_both(client, clerk_token, valid_number(), PNG)
    store = runtime.vault_stores.dbs[2]
    with store.engine.connect() as conn:  # everything into the main file
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    path = _path(runtime, 2)
    if damage == "garbage":
        path.write_bytes(b"this is not a database " * 200)
    else:
        path.write_bytes(path.read_bytes()[:1500])
    assert not maintenance.check(runtime.db, runtime.vault_stores).healthy
    report = maintenance.repair(runtime.db, runtime.vault_stores)
    assert report.healthy, report
    assert report.repaired == 2 and [s.ok for s in report.stores] == [2, 2, 2]
    assert list(path.parent.glob(f"{path.name}.broken-*"))  # kept for inspection, not deleted
    for url in (REVEAL.format(num_id), f"/api/v1/vault/entries/{doc_id}/download"):
        r = client.post(url, json={"purpose": "tax"}, headers=clerk_token.headers)
        assert r.status_code == 200
