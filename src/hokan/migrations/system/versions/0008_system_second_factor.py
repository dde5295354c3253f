"""Second factor (IAM-6): sealed TOTP secrets and one-time recovery codes

Revision ID: 0008_system
Revises: 0007_system
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hokan.kit.db

revision: str = "0008_system"
down_revision: str | None = "0007_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RLS = (
    "current_setting('hokan.scope', true) = 'system' "
    "OR tenant_id::text = current_setting('hokan.tenant_id', true)"
)


def upgrade() -> None:
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_recovery_codes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recovery_codes_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_recovery_codes_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_key_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("totp_wrapped", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("totp_ciphertext", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("totp_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE recovery_codes ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE recovery_codes FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON recovery_codes USING ({RLS}) WITH CHECK ({RLS})"
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_enabled")
        batch_op.drop_column("totp_ciphertext")
        batch_op.drop_column("totp_wrapped")
        batch_op.drop_column("totp_key_version")

    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_codes_user_id"))
        batch_op.drop_index(batch_op.f("ix_recovery_codes_tenant_id"))

    op.drop_table("recovery_codes")
