"""Migrations: upgrade from empty, and no drift between models and migrations."""

from __future__ import annotations

from sqlalchemy import inspect

from hokan import migrations
from hokan.runtime import Runtime


def test_no_model_drift(runtime: Runtime) -> None:
    # Equivalent of ``alembic check`` on both databases of this backend.
    migrations.check("system", runtime.db.engine)
    migrations.check("keyring", runtime.keyring_db.engine)
    assert migrations.current("system", runtime.db.engine) == migrations.head("system")
    assert migrations.current("keyring", runtime.keyring_db.engine) == migrations.head("keyring")


def test_keyring_tables_live_only_in_the_keyring_database(runtime: Runtime) -> None:
    system_tables = set(inspect(runtime.db.engine).get_table_names())
    keyring_tables = set(inspect(runtime.keyring_db.engine).get_table_names())
    assert "tenant_keys" in keyring_tables
    assert "tenant_keys" not in system_tables
    assert "records" in system_tables
    assert "records" not in keyring_tables
