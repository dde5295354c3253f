"""The weekly clock check's results (MON-8, job clock.check)

Revision ID: 0072_system
Revises: 0060_system
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hokan.kit.db

revision: str = "0072_system"
down_revision: str | None = "0060_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM_ONLY = "current_setting('hokan.scope', true) = 'system'"


def upgrade() -> None:
    op.create_table(
        "clock_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("check_id", sa.Uuid(), nullable=False),
        sa.Column("checked_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("server", sa.String(length=300), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("offset_seconds", sa.Double(), nullable=True),
        sa.Column("delay_seconds", sa.Double(), nullable=True),
        sa.Column("stratum", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=32), nullable=True),
        sa.Column("chosen", sa.Boolean(), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=False),
        sa.Column("max_offset_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_checks")),
    )
    with op.batch_alter_table("clock_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clock_checks_check_id"), ["check_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_clock_checks_checked_at"), ["checked_at"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        # The clock checks are the operators' alone: no tenant scope ever sees them.
        op.execute("ALTER TABLE clock_checks ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE clock_checks FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY system_only ON clock_checks USING ({SYSTEM_ONLY}) "
            f"WITH CHECK ({SYSTEM_ONLY})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY IF EXISTS system_only ON clock_checks")
    with op.batch_alter_table("clock_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clock_checks_checked_at"))
        batch_op.drop_index(batch_op.f("ix_clock_checks_check_id"))
    op.drop_table("clock_checks")
