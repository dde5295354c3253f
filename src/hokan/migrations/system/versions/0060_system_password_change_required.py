"""Users carry ``password_change_required`` (ADR 0019)

Existing users keep working (false); new users created by an admin or the CLI,
and users whose admin forces a change, must change their password first.

Revision ID: 0060_system
Revises: 0080_system
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0060_system"
down_revision: str | None = "0080_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy of the users table).
    op.add_column(
        "users",
        sa.Column(
            "password_change_required", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_change_required")
