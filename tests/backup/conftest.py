"""Backup fixtures: a service over the test runtime, and a data set with records and blobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hokan.backup.service import Backups
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import PgDatabases, TenantHandle


@pytest.fixture
def backup_settings(
    request: pytest.FixtureRequest, backend: str, settings_factory: Callable[..., Settings]
) -> Settings:
    """The test settings; on PostgreSQL the backup reads as the databases' owner (the app
    role is held by row-level security, HOKAN_BACKUP_DATABASE_URL)."""
    if backend == "postgresql":
        pg: PgDatabases = request.getfixturevalue("pg_databases")
        return settings_factory(
            backup_database_url=pg.admin_system_url, keyring_database_url=pg.admin_keyring_url
        )
    return settings_factory()


@pytest.fixture
def backups(runtime: Runtime, backup_settings: Settings) -> Backups:
    return Backups(backup_settings, runtime.keyring, runtime.blobs, runtime.db)


@pytest.fixture
def populated(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> dict[str, dict[str, object]]:
    """A tenant with a few records and a blob; returns the records as the API reads them."""
    t = make_tenant()
    shown: dict[str, dict[str, object]] = {}
    for i in range(5):
        r = client.put(
            f"/api/v1/collections/staff/records/r{i}",
            json={"name": f"社員 {i}", "i": i, "pad": "x" * (i * 1000)},
            headers=t.headers,
        )
        assert r.status_code == 201, r.text
        shown[f"r{i}"] = client.get(
            f"/api/v1/collections/staff/records/r{i}", headers=t.headers
        ).json()["data"]
    runtime.blobs.put("backup-test/one/blob", [b"blob bytes " * 1000])
    return shown


@pytest.fixture
def scratch_databases(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """Two empty PostgreSQL databases to restore a generation into."""
    pg: PgDatabases = request.getfixturevalue("pg_databases")
    base = make_url(pg.admin_system_url)
    names = [f"{base.database}_restore", f"{base.database}_restore_keyring"]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    urls = [base.set(database=n).render_as_string(hide_password=False) for n in names]
    yield urls[0], urls[1]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
