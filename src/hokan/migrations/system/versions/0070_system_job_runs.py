"""The history of scheduled job runs (``hokan worker``, ADR 0017)

Revision ID: 0070_system
Revises: 0050_system
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hokan.kit.db

revision: str = "0070_system"
down_revision: str | None = "0050_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM_ONLY = "current_setting('hokan.scope', true) = 'system'"


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("started_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index("ix_job_runs_job_started", ["job", "started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_runs_status"), ["status"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Job history is the operators' alone: no tenant scope ever sees it.
        op.execute("ALTER TABLE job_runs ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE job_runs FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY system_only ON job_runs USING ({SYSTEM_ONLY}) WITH CHECK ({SYSTEM_ONLY})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY IF EXISTS system_only ON job_runs")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_runs_status"))
        batch_op.drop_index("ix_job_runs_job_started")
    op.drop_table("job_runs")
