"""initial keyring schema

Revision ID: 0001_keyring
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hokan.kit.db

revision: str = "0001_keyring"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "keyring_meta",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_keyring_meta")),
    )
    op.create_table(
        "tenant_keys",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active", "retired", "destroyed", name="key_status", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("master_key_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("destroyed_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "purpose", "version", name=op.f("pk_tenant_keys")),
    )


def downgrade() -> None:
    op.drop_table("tenant_keys")
    op.drop_table("keyring_meta")
