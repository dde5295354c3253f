"""initial fragment store schema

Revision ID: 0001_vault
Revises:
Create Date: 2026-12-01 07:52:31.203818
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hokan.kit.db

revision: str = "0001_vault"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vault_fragments",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("created_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_vault_fragments")),
    )
    with op.batch_alter_table("vault_fragments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_fragments_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vault_fragments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_fragments_tenant_id"))

    op.drop_table("vault_fragments")
