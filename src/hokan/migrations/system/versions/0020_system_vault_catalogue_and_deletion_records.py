"""My Number vault: the catalogue and deletion records (MYN-3, MYN-6), under row-level security

Revision ID: 0020_system
Revises: 0010_system
Create Date: 2026-12-01 07:52:31.180133
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hokan.kit.db

revision: str = "0020_system"
down_revision: str | None = "0010_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RLS = (
    "current_setting('hokan.scope', true) = 'system' "
    "OR tenant_id::text = current_setting('hokan.tenant_id', true)"
)


def upgrade() -> None:
    op.create_table(
        "vault_deletions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "individual",
                "corporate",
                "document",
                name="vault_entry_kind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "reason",
            sa.Enum(
                "purpose_ended",
                "retention_expired",
                "registered_in_error",
                name="vault_deletion_reason",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("registered_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_by", sa.String(length=200), nullable=False),
        sa.Column("scheduled_by", sa.String(length=200), nullable=True),
        sa.Column(
            "stores_cleared",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "stores_pending",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("key_destroyed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_vault_deletions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_deletions")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_vault_deletions_entry_id")),
    )
    with op.batch_alter_table("vault_deletions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_deletions_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "vault_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "individual",
                "corporate",
                "document",
                name="vault_entry_kind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("record_collection", sa.String(length=64), nullable=False),
        sa.Column("record_key", sa.String(length=128), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("ciphertext_size", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column(
            "fragment_tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("delete_after", hokan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "deletion_reason",
            sa.Enum(
                "purpose_ended",
                "retention_expired",
                "registered_in_error",
                name="vault_deletion_reason",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("deletion_scheduled_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_vault_entries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_entries")),
    )
    with op.batch_alter_table("vault_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_entries_delete_after"), ["delete_after"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_vault_entries_tenant_id"), ["tenant_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in ("vault_entries", "vault_deletions"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} USING ({RLS}) WITH CHECK ({RLS})"
            )


def downgrade() -> None:
    with op.batch_alter_table("vault_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_entries_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_vault_entries_delete_after"))

    op.drop_table("vault_entries")
    with op.batch_alter_table("vault_deletions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_deletions_tenant_id"))

    op.drop_table("vault_deletions")
