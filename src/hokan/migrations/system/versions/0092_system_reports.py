"""Stored reports (REP-1 weekly, REP-2 availability) and host health samples

Both system-only on PostgreSQL: operators read reports through the operator API.

Revision ID: 0092_system
Revises: 0074_system
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hokan.kit.db

revision: str = "0092_system"
down_revision: str | None = "0074_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM_ONLY = "current_setting('hokan.scope', true) = 'system'"
TABLES = ("stored_reports", "host_samples")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "stored_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("period_start", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("html", sa.LargeBinary(), nullable=False),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_reports")),
        sa.UniqueConstraint(
            "kind", "period", "scope", name=op.f("uq_stored_reports_kind_period_scope")
        ),
    )
    with op.batch_alter_table("stored_reports", schema=None) as batch_op:
        batch_op.create_index("ix_stored_reports_created", ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_stored_reports_tenant_id"), ["tenant_id"], unique=False
        )
    op.create_table(
        "host_samples",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("taken_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("host", sa.String(length=100), nullable=False),
        sa.Column("cpu_percent", sa.Float(), nullable=False),
        sa.Column("memory_percent", sa.Float(), nullable=False),
        sa.Column("disk_percent", sa.Float(), nullable=False),
        sa.Column("disk_free_bytes", sa.BigInteger(), nullable=False),
        sa.Column("load1", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_samples")),
    )
    with op.batch_alter_table("host_samples", schema=None) as batch_op:
        batch_op.create_index("ix_host_samples_taken", ["taken_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY system_only ON {table} "
                f"USING ({SYSTEM_ONLY}) WITH CHECK ({SYSTEM_ONLY})"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP POLICY IF EXISTS system_only ON {table}")
    with op.batch_alter_table("host_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_host_samples_taken")
    op.drop_table("host_samples")
    with op.batch_alter_table("stored_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_reports_tenant_id"))
        batch_op.drop_index("ix_stored_reports_created")
    op.drop_table("stored_reports")
