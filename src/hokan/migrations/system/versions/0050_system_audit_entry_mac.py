"""Audit entries carry an HMAC under a keyring-held key (ADR 0011)

Existing entries keep ``entry_mac`` NULL: they verify once a signed checkpoint
covers them (``hokan audit checkpoint --adopt-unauthenticated``).

Revision ID: 0050_system
Revises: 0045_system
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0050_system"
down_revision: str | None = "0045_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy), so SQLite keeps the append-only triggers.
    op.add_column("audit_events", sa.Column("entry_mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_events", "entry_mac")
