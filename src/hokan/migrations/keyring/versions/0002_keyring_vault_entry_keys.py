"""vault entry keys

Revision ID: 0002_keyring
Revises: 0001_keyring
Create Date: 2026-12-01 07:52:31.197056
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hokan.kit.db

revision: str = "0002_keyring"
down_revision: str | None = "0001_keyring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vault_entry_keys",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_vault_entry_keys")),
    )
    with op.batch_alter_table("vault_entry_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_entry_keys_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vault_entry_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_entry_keys_tenant_id"))

    op.drop_table("vault_entry_keys")
