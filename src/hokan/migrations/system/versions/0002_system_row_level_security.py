"""Row-level security on tenant-owned tables (PostgreSQL only; TEN-2 second wall)

Every transaction of the service is tagged by ``Database.session`` with
``hokan.tenant_id`` (a request's tenant) or ``hokan.scope = 'system'`` (CLI,
jobs, token lookup). Rows of another tenant are invisible and cannot be
written; an untagged transaction sees none. FORCE applies the policies to the
table owner too; only a superuser bypasses them, so the service must not
connect as one in production.

Revision ID: 0002_system
Revises: 0001_system
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_system"
down_revision: str | None = "0001_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("api_tokens", "collections", "records", "record_revisions")
CONDITION = (
    "current_setting('hokan.scope', true) = 'system' "
    "OR tenant_id::text = current_setting('hokan.tenant_id', true)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING ({CONDITION}) WITH CHECK ({CONDITION})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
