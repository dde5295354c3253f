"""A single-row INSERT in its own write transaction, compiled once (the vault's hot path).

On SQLite a Core ``writer()`` plus ``execute`` costs ~50 µs of SQLAlchemy per
transaction (execution contexts, events, result set-up) on top of ~40 µs in
the driver; a vault registration makes four such writes (keyring and three
fragment stores). :class:`PreparedInsert` compiles the statement and picks the
column types' bind processors once, then runs BEGIN IMMEDIATE / INSERT / COMMIT
on the driver connection under the database's writer lock. Values are
converted exactly as Core would (same processors), and driver errors are
raised as SQLAlchemy's ``DBAPIError`` subclasses, as Core raises them.

Other engines keep Core, in autocommit: there the round trips dominate, and a
single INSERT needs no BEGIN/COMMIT around it to be atomic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import FromClause, Insert, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from hokan.kit.db import Database


class PreparedInsert:
    """``INSERT INTO table`` for any :class:`Database` (compiled once per SQLite dialect)."""

    def __init__(self, model: type[Any]) -> None:
        self.table: FromClause = model.__table__
        self.statement = self._stmt = insert(model)
        self._compiled: dict[tuple[int, tuple[str, ...]], _Compiled] = {}

    def _for(self, dialect: Dialect, row: Mapping[str, Any]) -> _Compiled:
        """Compiled for the columns this row gives (the others take their defaults)."""
        key = (id(dialect), tuple(row))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = _Compiled(self.table, self._stmt, dialect, key[1])
            self._compiled[key] = compiled
        return compiled

    def __call__(self, db: Database, row: Mapping[str, Any]) -> None:
        """Insert one row into ``db`` and commit (``sqlalchemy.exc.DBAPIError`` on failure)."""
        if db.dialect != "sqlite":
            # One statement is its own transaction: autocommit saves BEGIN and COMMIT,
            # two of the four round trips (with the pool's ping) of a write unit of work.
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.execute(self._stmt, row)
            return
        compiled = self._for(db.engine.dialect, row)
        params = compiled.params(row)
        dbapi = db.engine.dialect.loaded_dbapi
        with db.write_lock:
            try:
                raw = db.engine.raw_connection()
            except dbapi.Error as exc:  # the file cannot be opened
                raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc
            try:
                driver = raw.driver_connection
                assert driver is not None
                driver.execute("BEGIN IMMEDIATE")
                try:
                    driver.execute(compiled.sql, params)
                    driver.execute("COMMIT")
                except BaseException:
                    if driver.in_transaction:
                        driver.execute("ROLLBACK")
                    raise
            except dbapi.Error as exc:
                raise DBAPIError.instance(compiled.sql, params, exc, dbapi.Error) from exc
            finally:
                raw.close()


class _Compiled:
    """The SQL text with positional parameters, and each parameter's bind processor."""

    def __init__(
        self, table: FromClause, stmt: Insert, dialect: Dialect, columns: tuple[str, ...]
    ) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self.names: list[str] = list(compiled.positiontup or [])
        self.processors: list[Callable[[Any], Any] | None] = [
            table.c[name].type.bind_processor(dialect) for name in self.names
        ]

    def params(self, row: Mapping[str, Any]) -> list[Any]:
        return [
            row[name] if process is None else process(row[name])
            for name, process in zip(self.names, self.processors, strict=True)
        ]
