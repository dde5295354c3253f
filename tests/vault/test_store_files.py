"""Store files that go missing or go bad (issue 12 C): never recreated behind the
operator's back, reported by /readyz, and rebuilt by ``hokan vault repair``."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from hokan.cli import app as cli_app
from hokan.runtime import Runtime
from hokan.settings import Settings
from hokan.vault import maintenance
from tests.conftest import MASTER_KEY, TenantHandle
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


def test_swapped_store_files_are_caught_by_their_identity(
    sqlite_only: None, client: TestClient, runtime: Runtime
) -> None:
    for db in runtime.vault_stores.dbs:
        db.dispose()
    one, two = _path(runtime, 0), _path(runtime, 1)
    with sqlite3.connect(one) as conn:  # everything into the main files first
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with sqlite3.connect(two) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    aside = one.with_name("swap")
    one.rename(aside)
    two.rename(one)
    aside.rename(two)
    components = client.get("/readyz").json()["components"]
    assert components["vault_stores"] == "unavailable"  # 1 of 3 is where it belongs; k = 2
    assert components["vault_store_states"] == {"1": "wrong_store", "2": "wrong_store", "3": "ok"}


def test_a_store_from_another_installation_is_caught(
    sqlite_only: None, client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    from hokan.vault.stores import FragmentStores

    other = [f"sqlite:///{tmp_path / f'other-{i}.db'}" for i in (1, 2, 3)]
    foreign = FragmentStores(other, pool_size=1, busy_timeout_ms=5000)
    foreign.migrate()  # another 'hokan init': its own set id
    foreign.dispose()
    runtime.vault_stores.dbs[2].dispose()
    _path(runtime, 2).unlink()
    Path(make_url(other[2]).database or "").rename(_path(runtime, 2))
    components = client.get("/readyz").json()["components"]
    assert components["vault_store_states"]["3"] == "wrong_store"
    assert components["vault_stores"] == "degraded"


def test_existing_stores_without_an_identity_are_adopted_on_upgrade(
    sqlite_only: None, client: TestClient, runtime: Runtime, clerk_token: TenantHandle
) -> None:
    """A data dir from before store identities: at 0001, fragments in place."""
    from hokan import migrations

    num_id, _ = _register_both(client, clerk_token, valid_number(), PNG)
    for db in runtime.vault_stores.dbs:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE vault_store_identity")
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001_vault'")
    assert client.get("/readyz").json()["components"]["vault_stores"] == "unavailable"
    assert runtime.vault_stores.migrate() == [1, 2, 3]  # what 'hokan db upgrade' runs
    for db in runtime.vault_stores.dbs:
        assert migrations.current("vault", db.engine) == "0002_vault"
    components = client.get("/readyz").json()["components"]
    assert components["vault_stores"] == "ok"
    assert runtime.vault_stores.migrate() == []  # once: the ids stay
    r = client.post(REVEAL.format(num_id), json={"purpose": "tax"}, headers=clerk_token.headers)
    assert r.status_code == 200


def test_cli_repair_fixes_a_garbage_store_file(
    sqlite_only: None,
    client: TestClient,
    runtime: Runtime,
    settings: Settings,
    clerk_token: TenantHandle,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    _register_both(client, clerk_token, valid_number(), PNG)
    runtime.vault_stores.dbs[2].dispose()
    path = _path(runtime, 2)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"\x00garbage" * 512)
    env = {k: None for k in os.environ if k.startswith("HOKAN_")} | {
        "HOKAN_DATA_DIR": str(settings.data_dir),
        "HOKAN_DATABASE_URL": settings.resolved_database_url,
        "HOKAN_KEYRING_DATABASE_URL": settings.resolved_keyring_url,
        "HOKAN_MASTER_KEY": MASTER_KEY,
        "HOKAN_LOG_LEVEL": "WARNING",
    }
    check = CliRunner().invoke(cli_app, ["vault", "check"], env=env)
    assert check.exit_code == 1
    assert "store 3: NEEDS REPAIR" in check.output and "hokan vault repair" in check.output
    repair = CliRunner().invoke(cli_app, ["vault", "repair"], env=env)
    assert repair.exit_code == 0, repair.output
    assert "repaired 2 fragments" in repair.output
    assert CliRunner().invoke(cli_app, ["vault", "check"], env=env).exit_code == 0


def test_a_store_file_deleted_under_open_connections_is_seen_and_checked_as_lost(
    sqlite_only: None, client: TestClient, runtime: Runtime
) -> None:
    """Pooled connections keep a deleted file alive; /readyz and check look at the disk."""
    assert client.get("/readyz").json()["components"]["vault_stores"] == "ok"  # pool warm
    for idx in (0, 1):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{_path(runtime, idx)}{suffix}").unlink(missing_ok=True)
    components = client.get("/readyz").json()["components"]
    assert components["vault_stores_reachable"] == "1/3"
    report = maintenance.check(runtime.db, runtime.vault_stores)  # no entries at all
    assert not report.healthy and [s.lost for s in report.stores] == [True, True, False]


def test_a_store_holding_another_places_identity_is_wrong_on_every_backend(
    client: TestClient, runtime: Runtime
) -> None:
    """The same check on PostgreSQL: a store database pointed at the wrong place."""
    from sqlalchemy import update

    from hokan.models import VaultStoreIdentity

    with runtime.vault_stores.dbs[0].session(write=True) as s:
        s.execute(update(VaultStoreIdentity).values(store_index=2))
    components = client.get("/readyz").json()["components"]
    assert components["vault_stores"] == "degraded"
    assert components["vault_store_states"] == {"1": "wrong_store", "2": "ok", "3": "ok"}
