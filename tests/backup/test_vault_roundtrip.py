"""The vault class round trip on SQLite and PostgreSQL: each fragment store and the keyring
come back row for row (BAK-1, BAK-4, ADR 0023)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hokan.backup.service import Backups
from hokan.principals.principal import Scope
from hokan.settings import Settings
from tests.backup.test_roundtrip import _rows
from tests.conftest import VAULT_STORES, PgDatabases, TenantHandle
from tests.vault.conftest import valid_number


@pytest.fixture
def empty_databases(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """A keyring and one database per vault store, empty, to restore into (PostgreSQL)."""
    pg: PgDatabases = request.getfixturevalue("pg_databases")
    base = make_url(pg.admin_system_url)
    names = [f"{base.database}_rv_{i}" for i in range(VAULT_STORES + 1)]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield [base.set(database=n).render_as_string(hide_password=False) for n in names]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_vault_generation_restores_every_store_row_for_row(
    backups: Backups,
    backup_settings: Settings,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    tmp_path: Path,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    t = make_tenant(scopes=frozenset({Scope.vault_read, Scope.vault_write}))
    for i in range(3):
        r = client.post(
            "/api/v1/vault/numbers",
            json={"number": valid_number(), "record_id": f"s-{i}"},
            headers=t.headers,
        )
        assert r.status_code == 201, r.text
    backups.keyring.backup_kek()
    backups.keyring.audit_signing_key()
    stores = backup_settings.resolved_vault_store_urls
    before = [_rows(url) for url in stores]
    keyring_before = _rows(backup_settings.resolved_keyring_url)
    assert any(any(rows.values()) for rows in before)
    name = backups.run("vault")["generation"]
    to = tmp_path / "restored"
    if backend == "postgresql":
        urls = request.getfixturevalue("empty_databases")
        result = backups.restore(name, to, to_keyring_url=urls[0], to_vault_urls=urls[1:])
        after = [_rows(url) for url in urls[1:]]
        keyring_after = _rows(urls[0])
    else:
        result = backups.restore(name, to)
        after = [_rows(f"sqlite:///{to / 'vault' / f'store-{i}.db'}") for i in (1, 2, 3)]
        keyring_after = _rows(f"sqlite:///{to / 'keyring.db'}")
    assert after == before
    assert keyring_after == keyring_before
    assert len(result["files"]) == 1 + VAULT_STORES
