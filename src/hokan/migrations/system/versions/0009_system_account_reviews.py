"""Account inventory reviews (IAM-7), under row-level security

Revision ID: 0009_system
Revises: 0008_system
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hokan.kit.db

revision: str = "0009_system"
down_revision: str | None = "0008_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RLS = (
    "current_setting('hokan.scope', true) = 'system' "
    "OR tenant_id::text = current_setting('hokan.tenant_id', true)"
)


def upgrade() -> None:
    op.create_table(
        "account_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("reviewed_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "decisions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("comment", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_account_reviews_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_reviews")),
    )
    with op.batch_alter_table("account_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_reviews_tenant_id"), ["tenant_id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE account_reviews ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE account_reviews FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON account_reviews USING ({RLS}) WITH CHECK ({RLS})"
        )


def downgrade() -> None:
    with op.batch_alter_table("account_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_reviews_tenant_id"))

    op.drop_table("account_reviews")
