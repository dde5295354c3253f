"""store identity: which store of which installation this database is

Revision ID: 0002_vault
Revises: 0001_vault
Create Date: 2026-12-05 05:40:00.000000

The row itself is written by ``hokan init`` / ``hokan db upgrade``, which know
the store's place (``FragmentStores.migrate``); stores of an existing data dir
are adopted there on their first upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hokan.kit.db

revision: str = "0002_vault"
down_revision: str | None = "0001_vault"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vault_store_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Uuid(), nullable=False),
        sa.Column("store_index", sa.Integer(), nullable=False),
        sa.Column("created_at", hokan.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_store_identity")),
    )


def downgrade() -> None:
    op.drop_table("vault_store_identity")
