"""Terminal (client) certificates issued by Hokan's CA (EDGE-1), under row-level security

Revision ID: 0030_system
Revises: 0020_system
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hokan.kit.db

revision: str = "0030_system"
down_revision: str | None = "0020_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RLS = (
    "current_setting('hokan.scope', true) = 'system' "
    "OR tenant_id::text = current_setting('hokan.tenant_id', true)"
)


def upgrade() -> None:
    op.create_table(
        "terminal_certificates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),  # NULL: an operator terminal
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=95), nullable=False),
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("not_before", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("not_after", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.Column("revocation_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_terminal_certificates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminal_certificates")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_terminal_certificates_fingerprint")),
        sa.UniqueConstraint("serial", name=op.f("uq_terminal_certificates_serial")),
    )
    with op.batch_alter_table("terminal_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_terminal_certificates_tenant_id"), ["tenant_id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE terminal_certificates ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE terminal_certificates FORCE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY tenant_isolation ON terminal_certificates "
            f"USING ({RLS}) WITH CHECK ({RLS})"
        )


def downgrade() -> None:
    with op.batch_alter_table("terminal_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_terminal_certificates_tenant_id"))
    op.drop_table("terminal_certificates")
