"""Database plumbing: declarative bases, portable types, engines and units of work.

Sync SQLAlchemy 2 (ADR 0001). SQLite gets WAL, foreign keys and a busy timeout;
write units of work on SQLite begin with ``BEGIN IMMEDIATE`` so two writers
queue on the lock instead of failing mid-transaction. PostgreSQL uses psycopg 3.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Select,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PortableJSON = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Models of the system database."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class KeyringBase(DeclarativeBase):
    """Models of the keyring database, kept apart from the system database (KEY-2)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class VaultStoreBase(DeclarativeBase):
    """Models of each vault fragment store: n databases apart from both others (MYN-1)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


S = TypeVar("S", bound="Select[*tuple[Any, ...]]")


def tenant_scoped(stmt: S, model: Any, tenant_id: Any) -> S:
    """Restrict a query on a tenant-owned model to one tenant (TEN-2).

    Repositories call this from their single scoping method; nothing else builds
    tenant-owned queries. ``tenant_id`` is a UUID, or a bind parameter for
    statements built once at import time.
    """
    return stmt.where(model.tenant_id == tenant_id)


_BEGIN_IMMEDIATE, _BEGIN_DEFERRED = "BEGIN IMMEDIATE", "BEGIN DEFERRED"


def _sqlite_setup(
    engine: Engine, busy_timeout_ms: int, secure_delete: bool, wal_autocheckpoint: int | None
) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so we can emit BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        if secure_delete:
            cur.execute("PRAGMA secure_delete=ON")
        if wal_autocheckpoint is not None:
            cur.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("hokan_write")
        # Straight to the driver: a full SQLAlchemy execution here costs ~20 µs per transaction.
        conn.connection.driver_connection.execute(_BEGIN_IMMEDIATE if write else _BEGIN_DEFERRED)


def sqlite_existing_only(path: str) -> str:
    """A SQLite URL that opens ``path`` read-write and never creates it."""
    return f"sqlite:///file:{quote(path)}?mode=rw&uri=true"


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    busy_timeout_ms: int = 10_000,
    secure_delete: bool = False,
    wal_autocheckpoint: int | None = None,
    create: bool = True,
) -> Engine:
    """An engine for ``url``. ``create=False``: a SQLite file that is missing stays
    missing (opened ``mode=rw``) instead of being silently created empty."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            if create:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            elif not parsed.query.get("uri"):
                url = sqlite_existing_only(parsed.database)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            pool_pre_ping=False,
        )
        _sqlite_setup(engine, busy_timeout_ms, secure_delete, wal_autocheckpoint)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


# Rows sampled per index by SQLite's ANALYZE: enough for the planner, bounded on big tables.
_ANALYSIS_LIMIT = 2000

_SET_RLS_CONTEXT = text(
    "SELECT set_config('hokan.tenant_id', :tenant, true), set_config('hokan.scope', :scope, true)"
)


class Database:
    """One database: an engine plus read and write units of work."""

    def __init__(self, engine: Engine, *, row_level_security: bool = False) -> None:
        self.engine = engine
        self._tag_transactions = row_level_security and engine.dialect.name == "postgresql"
        # SQLite has one writer. Its busy handler makes waiting writers sleep in
        # growing steps (up to 100 ms), so queue this process's writers on a lock
        # instead; other processes still meet the busy timeout.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )
        self._read = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
        self._write_engine = engine.execution_options(hokan_write=True)
        self._write = sessionmaker(
            bind=self._write_engine,
            expire_on_commit=False,
            autoflush=False,
        )

    @property
    def write_lock(self) -> AbstractContextManager[Any]:
        """Held by this process's writers on SQLite (one writer per file); a no-op elsewhere."""
        return self._write_lock

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(
        self, *, write: bool = False, tenant: uuid.UUID | None = None, system: bool = False
    ) -> Iterator[Session]:
        """A unit of work: commits once at the end, rolls back on any error.

        On PostgreSQL the transaction is tagged with its tenant (or as a system
        job) for the row-level-security policies, the second wall behind the
        repositories' scoping (TEN-2). Untagged work sees no tenant-owned rows.
        """
        factory = self._write if write else self._read
        with self._write_lock if write else nullcontext(), factory() as session:
            try:
                if self._tag_transactions:
                    session.execute(
                        _SET_RLS_CONTEXT,
                        {
                            "tenant": str(tenant) if tenant else "",
                            "scope": "system" if system else "",
                        },
                    )
                yield session
                if write:
                    session.commit()
                # A read unit of work just closes: the pool resets the connection,
                # and loaded objects stay usable (a rollback would expire them).
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reader(
        self, *, tenant: uuid.UUID | None = None, system: bool = False
    ) -> Iterator[Connection]:
        """A read-only Core connection for hot paths (no ORM session, ~100 µs less).

        Tagged for row-level security exactly like :meth:`session`.
        """
        with self.engine.connect() as conn:
            if self._tag_transactions:
                conn.execute(
                    _SET_RLS_CONTEXT,
                    {"tenant": str(tenant) if tenant else "", "scope": "system" if system else ""},
                )
            yield conn

    @contextmanager
    def writer(self) -> Iterator[Connection]:
        """A Core write transaction for hot paths (no ORM unit of work); commits at the end.

        Not tagged for row-level security: for databases without it (keyring, vault stores).
        """
        with self._write_lock, self._write_engine.begin() as conn:
            yield conn

    def analyze(self, tables: tuple[str, ...]) -> dict[str, list[str]]:
        """Refresh the planner's statistics of ``tables`` (ADR 0027).

        SQLite: ``ANALYZE`` with a bounded sample per index (``analysis_limit``), so
        it stays cheap on big tables. PostgreSQL: ``ANALYZE`` of the tables this role
        owns; others are left to autovacuum (a non-owner may not analyze them).
        Returns the tables analysed and skipped.
        """
        done: list[str] = []
        skipped: list[str] = []
        if self.dialect == "sqlite":
            with self._write_lock, self.engine.connect() as conn:
                driver = conn.connection.driver_connection
                assert driver is not None
                driver.execute(f"PRAGMA analysis_limit={_ANALYSIS_LIMIT}")
                for table in tables:
                    driver.execute(f'ANALYZE "{table}"')
                    done.append(table)
            return {"analyzed": done, "skipped": skipped}
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            owned = set(
                conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                        "AND tableowner = current_user"
                    )
                ).scalars()
            )
            for table in tables:
                if table in owned:
                    conn.execute(text(f'ANALYZE "{table}"'))
                    done.append(table)
                else:
                    skipped.append(table)
        return {"analyzed": done, "skipped": skipped}

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
