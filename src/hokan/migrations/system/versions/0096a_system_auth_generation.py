"""The authentication generation: what lets each process cache credentials (ADR 0027)

``auth_generation`` holds one counter. Triggers add one whenever a change could make
a cached credential wrong: an API token revoked, re-scoped, re-dated or deleted; a
user's status or roles changed or the user deleted; a tenant's status changed or the
tenant deleted. Each process re-reads the counter at most every
``HOKAN_AUTH_CACHE_SECONDS`` and empties its cache when it moved, which bounds how
long a revoked credential can still be accepted. Frequent updates that change none
of these (``last_used_at``, login counters) do not fire them.

Note for later SQLite migrations: a batch operation that re-creates ``api_tokens``,
``users`` or ``tenants`` drops their triggers; re-create them (``auth_triggers``).

Revision ID: 0096a_system
Revises: 0076_system
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0096a_system"
down_revision: str | None = "0076_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the columns whose change can revoke a cached credential
WATCHED = {
    "api_tokens": ("revoked_at", "expires_at", "scopes", "token_hash", "user_id", "tenant_id"),
    "users": ("status", "roles", "tenant_id"),
    "tenants": ("status",),
}
# An upsert: the counter row may be missing (a truncated test database); a missing row reads 0.
BUMP = (
    "INSERT INTO auth_generation (id, value) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET value = auth_generation.value + 1"
)


def auth_triggers(dialect: str) -> list[str]:
    """The statements that (re-)create the generation triggers on ``dialect``."""
    out: list[str] = []
    if dialect == "postgresql":
        out.append(
            "CREATE FUNCTION hokan_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n    {BUMP};\n    RETURN NULL;\nEND\n$$"
        )
        for table, columns in WATCHED.items():
            changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
            out.append(
                f"CREATE TRIGGER {table}_auth_update AFTER UPDATE ON {table} FOR EACH ROW "
                f"WHEN ({changed}) EXECUTE FUNCTION hokan_auth_changed()"
            )
            out.append(
                f"CREATE TRIGGER {table}_auth_delete AFTER DELETE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION hokan_auth_changed()"
            )
        return out
    for table, columns in WATCHED.items():
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        out.append(
            f"CREATE TRIGGER {table}_auth_update AFTER UPDATE ON {table} "
            f"WHEN {changed} BEGIN {BUMP}; END"
        )
        out.append(f"CREATE TRIGGER {table}_auth_delete AFTER DELETE ON {table} BEGIN {BUMP}; END")
    return out


def upgrade() -> None:
    op.create_table(
        "auth_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_generation")),
    )
    op.execute("INSERT INTO auth_generation (id, value) VALUES (1, 0)")
    for statement in auth_triggers(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        for kind in ("update", "delete"):
            on = f" ON {table}" if postgresql else ""
            op.execute(f"DROP TRIGGER IF EXISTS {table}_auth_{kind}{on}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS hokan_auth_changed()")
    op.drop_table("auth_generation")
