"""Shared audit fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from hokan.runtime import Runtime
from tests.conftest import PgDatabases


@pytest.fixture
def owner_engine(
    runtime: Runtime, backend: str, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    """A connection with the rights of whoever owns the files or the database: an attacker."""
    if backend == "postgresql":
        pg: PgDatabases = request.getfixturevalue("pg_databases")
        engine = create_engine(pg.admin_system_url)
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
            conn.execute(
                text("ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_append_only")
            )
        yield engine
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
            conn.execute(
                text("ALTER TABLE audit_checkpoints ENABLE TRIGGER audit_checkpoints_append_only")
            )
        engine.dispose()
    else:
        engine = create_engine(runtime.settings.resolved_database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
            conn.execute(text("DROP TRIGGER audit_checkpoints_no_update"))
            conn.execute(text("DROP TRIGGER audit_checkpoints_no_delete"))
        yield engine
        engine.dispose()
