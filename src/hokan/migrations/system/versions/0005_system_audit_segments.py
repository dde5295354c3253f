"""Audit archival segments: entries move to compressed files, still verifiable

An entry may be deleted from audit_events only once a segment record covers
it; segment records themselves are append-only.

Revision ID: 0005_system
Revises: 0004_system
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hokan.kit.db

revision: str = "0005_system"
down_revision: str | None = "0004_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RLS = (
    "current_setting('hokan.scope', true) = 'system' "
    "OR tenant_id::text = current_setting('hokan.tenant_id', true)"
)


def upgrade() -> None:
    op.create_table(
        "audit_segments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_segments")),
        sa.UniqueConstraint("chain", "first_seq", name=op.f("uq_audit_segments_chain_first_seq")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION hokan_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_events' AND EXISTS ("
            "SELECT 1 FROM audit_segments s WHERE s.chain = OLD.chain "
            "AND OLD.seq BETWEEN s.first_seq AND s.last_seq) THEN RETURN OLD; END IF; "
            "RAISE EXCEPTION 'audit entries are append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_segments_append_only BEFORE UPDATE OR DELETE ON audit_segments "
            "FOR EACH ROW EXECUTE FUNCTION hokan_audit_append_only()"
        )
        op.execute("ALTER TABLE audit_segments ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE audit_segments FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON audit_segments USING ({RLS}) WITH CHECK ({RLS})"
        )
    else:
        op.execute("DROP TRIGGER audit_events_no_delete")
        op.execute(
            "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
            "WHEN NOT EXISTS (SELECT 1 FROM audit_segments s WHERE s.chain = OLD.chain "
            "AND OLD.seq BETWEEN s.first_seq AND s.last_seq) "
            "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END"
        )
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_segments_no_{verb.lower()} BEFORE {verb} ON audit_segments "
                "BEGIN SELECT RAISE(ABORT, 'audit segments are append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_segments_append_only ON audit_segments")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        op.execute(
            "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END"
        )
    op.drop_table("audit_segments")
