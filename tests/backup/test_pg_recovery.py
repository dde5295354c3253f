"""PostgreSQL: disaster recovery into empty databases and in-place restore over live ones,
read back through a service that connects as its own (row-level-security) role — the
records byte-identical, the role's table rights given back (BAK-4, BAK-5, ADR 0023)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hokan.app import create_app
from hokan.backup import disaster
from hokan.backup.service import Backups
from hokan.keyring.service import Keyring
from hokan.kit.db import Database
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.backup.test_dr import _reads
from tests.conftest import VAULT_STORES, PgDatabases, TenantHandle

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
BASE = "/api/v1/collections/staff/records"


def _offline(settings: Settings, keyring: Keyring) -> Backups:
    """As the CLI does: the live keyring is never read, the generation's own is restored."""
    return Backups(settings, Keyring(Database(create_engine("sqlite://")), keyring.master, 0))


@pytest.fixture
def new_machine(pg_databases: PgDatabases) -> Iterator[dict[str, str]]:
    """Empty databases of a rebuilt machine: URLs as the owner and the system one as the
    service's role."""
    base = make_url(pg_databases.admin_system_url)
    role = make_url(pg_databases.system_url).username
    kinds = ["system", "keyring", *(f"vault{i}" for i in range(1, VAULT_STORES + 1))]
    names = {k: f"{base.database}_dr_{k}" for k in kinds}
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    urls = {k: base.set(database=n).render_as_string(hide_password=False) for k, n in names.items()}
    urls["app"] = base.set(database=names["system"], username=role).render_as_string(
        hide_password=False
    )
    yield urls
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_disaster_recovery_into_empty_databases(
    backups: Backups,
    backup_settings: Settings,
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    new_machine: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    t = make_tenant()
    for i in range(3):
        assert client.put(f"{BASE}/k{i}", json={"i": i, "名": "山田"}, headers=t.headers).is_success
    before = _reads(client, t)
    backups.run("monthly")
    backups.run("vault", "remote")
    fresh = tmp_path_factory.mktemp("new-machine") / "data"
    rebuilt_settings = Settings(  # type: ignore[call-arg]
        **{
            **backup_settings.model_dump(),
            "data_dir": fresh,
            "backup_remote_dir": backup_settings.resolved_backup_remote_dir,
            "database_url": new_machine["app"],
            "backup_database_url": new_machine["system"],
            "keyring_database_url": new_machine["keyring"],
            "vault_store_urls": ",".join(
                new_machine[f"vault{i}"] for i in range(1, VAULT_STORES + 1)
            ),
        }
    )
    report = disaster.recover(_offline(rebuilt_settings, runtime.keyring), source="remote")
    assert report["row_counts"]["differ"] == {}
    assert report["vault_generation"]
    rebuilt = Runtime(rebuilt_settings)
    try:
        rebuilt.keyring.verify_master()
        with TestClient(create_app(runtime=rebuilt), client=("127.0.0.1", 50000)) as again:
            assert _reads(again, t) == before  # as the service's own role, under RLS
    finally:
        rebuilt.close()


def test_in_place_restore_over_the_live_databases(
    backups: Backups,
    backup_settings: Settings,
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
) -> None:
    t = make_tenant()
    assert client.put(f"{BASE}/a", json={"v": 1}, headers=t.headers).is_success
    before = _reads(client, t)
    generation = backups.run("daily")["generation"]
    assert client.put(f"{BASE}/a", json={"v": 2}, headers=t.headers).is_success
    assert client.put(f"{BASE}/b", json={"v": 3}, headers=t.headers).is_success
    client.close()
    runtime.close()  # the service is stopped for an in-place restore
    result = disaster.in_place(_offline(backup_settings, runtime.keyring), generation)
    assert result["generation"] == generation
    again = Runtime(backup_settings)
    try:
        with TestClient(create_app(runtime=again), client=("127.0.0.1", 50000)) as c:
            assert _reads(c, t) == before
    finally:
        again.close()
