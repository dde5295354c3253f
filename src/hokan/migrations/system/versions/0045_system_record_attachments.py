"""Record attachments (REC-4): metadata and wrapped data keys, under row-level security

Revision ID: 0045_system
Revises: 0030_system
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hokan.kit.db

revision: str = "0045_system"
down_revision: str | None = "0030_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RLS = (
    "current_setting('hokan.scope', true) = 'system' "
    "OR tenant_id::text = current_setting('hokan.tenant_id', true)"
)


def upgrade() -> None:
    op.create_table(
        "record_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "quarantined",
                "shredded",
                name="attachment_status",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=150), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.String(length=300), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=True),
        sa.Column("scanner", sa.String(length=32), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            name=op.f("fk_record_attachments_record_id_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_record_attachments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_attachments")),
    )
    with op.batch_alter_table("record_attachments", schema=None) as batch_op:
        batch_op.create_index("ix_record_attachments_record", ["tenant_id", "record_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE record_attachments ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE record_attachments FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON record_attachments USING ({RLS}) WITH CHECK ({RLS})"
        )


def downgrade() -> None:
    with op.batch_alter_table("record_attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_record_attachments_record")
    op.drop_table("record_attachments")
