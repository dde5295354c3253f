"""Tenant lifecycle (LIFE-1..3): grace period, holds and disposal time on tenants;
one-time password setup links; the disposal record; retired certificate serials (CRL)

Revision ID: 0090_system
Revises: 0096a_system
Create Date: 2026-12-05 16:11:07.201032
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hokan.kit.db

revision: str = "0090_system"
down_revision: str | None = "0096a_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM_ONLY = "current_setting('hokan.scope', true) = 'system'"
RLS = (
    "current_setting('hokan.scope', true) = 'system' "
    "OR tenant_id::text = current_setting('hokan.tenant_id', true)"
)
SYSTEM_TABLES = ("retired_certificates", "tenant_disposals")


def upgrade() -> None:
    op.create_table(
        "retired_certificates",
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("revoked_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("not_after", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_retired_certificates")),
    )
    op.create_table(
        "tenant_disposals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_code", sa.String(length=32), nullable=False),
        sa.Column("tenant_name", sa.String(length=200), nullable=False),
        sa.Column("certificate_number", sa.String(length=40), nullable=False),
        sa.Column("terminated_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=True),
        sa.Column("certificate_issued_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_disposals_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_disposals")),
        sa.UniqueConstraint(
            "certificate_number", name=op.f("uq_tenant_disposals_certificate_number")
        ),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_tenant_disposals_tenant_id")),
    )
    op.create_table(
        "password_setup_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_password_setup_tokens_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_password_setup_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_setup_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_setup_tokens_token_hash")),
    )
    with op.batch_alter_table("password_setup_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_password_setup_tokens_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_password_setup_tokens_user_id"), ["user_id"], unique=False
        )

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("terminated_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("dispose_after", hokan.kit.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("legal_hold", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("restore_pending", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("disposed_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=True)
        )

    if op.get_bind().dialect.name == "postgresql":
        for table in SYSTEM_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY system_only ON {table} "
                f"USING ({SYSTEM_ONLY}) WITH CHECK ({SYSTEM_ONLY})"
            )
        op.execute("ALTER TABLE password_setup_tokens ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE password_setup_tokens FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON password_setup_tokens USING ({RLS}) WITH CHECK ({RLS})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in SYSTEM_TABLES:
            op.execute(f"DROP POLICY IF EXISTS system_only ON {table}")
        op.execute("DROP POLICY IF EXISTS tenant_isolation ON password_setup_tokens")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("disposed_at")
        batch_op.drop_column("restore_pending")
        batch_op.drop_column("legal_hold")
        batch_op.drop_column("dispose_after")
        batch_op.drop_column("terminated_at")

    with op.batch_alter_table("password_setup_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_setup_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_password_setup_tokens_tenant_id"))

    op.drop_table("password_setup_tokens")
    op.drop_table("tenant_disposals")
    op.drop_table("retired_certificates")
