"""Maintained per-collection record counts; planner statistics kept current

``collections.record_count`` is the number of live (not deleted) records of the
collection, kept by triggers on ``records`` in the writing transaction itself:
an insert of a live record adds one, a delete (tombstone) or a hard delete of a
live record takes one, re-creating a tombstone adds one. Every path that
writes records (the API, jobs, restores, tenant deletion) keeps it exact, and
concurrent writers serialise on the collection's row only when the count
changes (replacing a record's payload does not touch it). ``GET /collections``
reads it instead of counting every record (ADR 0027).

The statistics the planners use are refreshed at the end (``ANALYZE``);
``records.analyze`` keeps them current afterwards.

Note for later SQLite migrations: a batch operation that re-creates
``records`` drops its triggers; re-create them (``record_count_triggers``).

Revision ID: 0096_system
Revises: 0092_system
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0096_system"
down_revision: str | None = "0092_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER records_count_insert AFTER INSERT ON records
    WHEN NEW.deleted_at IS NULL
    BEGIN
        UPDATE collections SET record_count = record_count + 1 WHERE id = NEW.collection_id;
    END""",
    """CREATE TRIGGER records_count_delete AFTER DELETE ON records
    WHEN OLD.deleted_at IS NULL
    BEGIN
        UPDATE collections SET record_count = record_count - 1 WHERE id = OLD.collection_id;
    END""",
    """CREATE TRIGGER records_count_update AFTER UPDATE OF deleted_at, collection_id ON records
    WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
        OR OLD.collection_id <> NEW.collection_id
    BEGIN
        UPDATE collections SET record_count = record_count - 1
            WHERE id = OLD.collection_id AND OLD.deleted_at IS NULL;
        UPDATE collections SET record_count = record_count + 1
            WHERE id = NEW.collection_id AND NEW.deleted_at IS NULL;
    END""",
)

# PostgreSQL: inserts and hard deletes count per statement (transition tables), so a
# bulk insert updates each collection's row once instead of once per record (row
# triggers re-updating one row in one transaction walk an ever longer version chain).
PG_STATEMENTS = (
    """CREATE FUNCTION hokan_records_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE collections SET record_count = record_count + added.n
    FROM (SELECT collection_id, count(*) AS n FROM new_records
          WHERE deleted_at IS NULL GROUP BY collection_id) AS added
    WHERE collections.id = added.collection_id;
    RETURN NULL;
END
$$""",
    """CREATE FUNCTION hokan_records_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE collections SET record_count = record_count - removed.n
    FROM (SELECT collection_id, count(*) AS n FROM old_records
          WHERE deleted_at IS NULL GROUP BY collection_id) AS removed
    WHERE collections.id = removed.collection_id;
    RETURN NULL;
END
$$""",
    """CREATE FUNCTION hokan_records_tombstoned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.deleted_at IS NULL THEN
        UPDATE collections SET record_count = record_count - 1 WHERE id = OLD.collection_id;
    END IF;
    IF NEW.deleted_at IS NULL THEN
        UPDATE collections SET record_count = record_count + 1 WHERE id = NEW.collection_id;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER records_count_insert AFTER INSERT ON records
    REFERENCING NEW TABLE AS new_records
    FOR EACH STATEMENT EXECUTE FUNCTION hokan_records_inserted()""",
    """CREATE TRIGGER records_count_delete AFTER DELETE ON records
    REFERENCING OLD TABLE AS old_records
    FOR EACH STATEMENT EXECUTE FUNCTION hokan_records_deleted()""",
    # Replacing a payload does not fire it: only a change of deleted_at (or collection).
    """CREATE TRIGGER records_count_update AFTER UPDATE OF deleted_at, collection_id ON records
    FOR EACH ROW WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
        OR OLD.collection_id <> NEW.collection_id)
    EXECUTE FUNCTION hokan_records_tombstoned()""",
)

COUNT_EXISTING = """UPDATE collections SET record_count = (
    SELECT count(*) FROM records
    WHERE records.collection_id = collections.id AND records.deleted_at IS NULL
)"""


def record_count_triggers(dialect: str) -> tuple[str, ...]:
    """The statements that (re-)create the count triggers on ``dialect``."""
    if dialect == "postgresql":
        return PG_STATEMENTS
    return SQLITE_TRIGGERS


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("record_count", sa.Integer(), server_default="0", nullable=False)
        )
    if dialect == "postgresql":
        # The owner is subject to the (forced) row-level security too.
        op.execute("SELECT set_config('hokan.scope', 'system', true)")
    op.execute(COUNT_EXISTING)
    for statement in record_count_triggers(dialect):
        op.execute(statement)
    op.execute("ANALYZE")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("records_count_update", "records_count_delete", "records_count_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON records")
        for function in ("tombstoned", "deleted", "inserted"):
            op.execute(f"DROP FUNCTION IF EXISTS hokan_records_{function}()")
    else:
        for name in ("records_count_update", "records_count_delete", "records_count_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.drop_column("record_count")
