"""Backup operations (ADR 0022): verification coverage, restore drills, restore requests,
maintenance-window backups

Revision ID: 0076_system
Revises: 0096_system
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hokan.kit.db

revision: str = "0076_system"
down_revision: str | None = "0096_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM_ONLY = "current_setting('hokan.scope', true) = 'system'"
TABLES = ("backup_verifications", "backup_drills", "backup_restore_requests", "backup_window_runs")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = hokan.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "backup_verifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.String(length=64), nullable=False),
        sa.Column("klass", sa.String(length=16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("checked_at", WHEN, nullable=True),
        sa.Column("checked_ok", sa.Boolean(), nullable=False),
        sa.Column("verified_at", WHEN, nullable=True),
        sa.Column("failed_at", WHEN, nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_verifications")),
        sa.UniqueConstraint(
            "target", "generation", name=op.f("uq_backup_verifications_target_generation")
        ),
    )
    op.create_table(
        "backup_drills",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.String(length=64), nullable=True),
        sa.Column("target", sa.String(length=16), nullable=True),
        sa.Column("tenant_code", sa.String(length=32), nullable=True),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("result", JSON, nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_drills")),
    )
    with op.batch_alter_table("backup_drills", schema=None) as batch_op:
        batch_op.create_index("ix_backup_drills_requested", ["requested_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_backup_drills_status"), ["status"], unique=False)
    op.create_table(
        "backup_restore_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("generation", sa.String(length=64), nullable=False),
        sa.Column("tenant_code", sa.String(length=32), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_restore_requests")),
    )
    with op.batch_alter_table("backup_restore_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_backup_restore_requests_requested", ["requested_at"], unique=False
        )
    op.create_table(
        "backup_window_runs",
        sa.Column("window_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.String(length=64), nullable=False),
        sa.Column("taken_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("window_id", name=op.f("pk_backup_window_runs")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:  # operations data: no tenant scope ever sees it
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
    op.drop_table("backup_window_runs")
    with op.batch_alter_table("backup_restore_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_backup_restore_requests_requested")
    op.drop_table("backup_restore_requests")
    with op.batch_alter_table("backup_drills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backup_drills_status"))
        batch_op.drop_index("ix_backup_drills_requested")
    op.drop_table("backup_drills")
    op.drop_table("backup_verifications")
