"""Metrics snapshots and weekly performance samples (MON-7, §1-4-1); the latest
checkpoint of a chain by index

Revision ID: 0074_system
Revises: 0072_system
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hokan.kit.db

revision: str = "0074_system"
down_revision: str | None = "0072_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM_ONLY = "current_setting('hokan.scope', true) = 'system'"
TABLES = ("metrics_snapshots", "performance_samples")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "metrics_snapshots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("taken_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("host", sa.String(length=100), nullable=False),
        sa.Column("boot", sa.String(length=64), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics_snapshots")),
    )
    with op.batch_alter_table("metrics_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_metrics_snapshots_taken", ["taken_at"], unique=False)
    op.create_table(
        "performance_samples",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("period_start", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("computed_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("snapshots", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("request_rate", sa.Float(), nullable=False),
        sa.Column("error_rate", sa.Float(), nullable=True),
        sa.Column("p50_ms", sa.Float(), nullable=True),
        sa.Column("p95_ms", sa.Float(), nullable=True),
        sa.Column("p99_ms", sa.Float(), nullable=True),
        sa.Column("bytes_in_per_second", sa.Float(), nullable=False),
        sa.Column("bytes_out_per_second", sa.Float(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_samples")),
        sa.UniqueConstraint("period_end", name=op.f("uq_performance_samples_period_end")),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index("ix_audit_checkpoints_chain_seq", ["chain", "seq"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Operations data: no tenant scope ever sees it.
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
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_checkpoints_chain_seq")
    op.drop_table("performance_samples")
    with op.batch_alter_table("metrics_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_metrics_snapshots_taken")
    op.drop_table("metrics_snapshots")
