"""Vault entries carry a keyed digest of their number: duplicates are refused (ADR 0007)

``number_digest`` is an HMAC-SHA256 of the normalised number under the tenant's
``vault_digest`` key, held in the keyring. A partial unique index makes one live
entry per tenant, linked record, kind and number. Entries registered before this
revision keep NULL: they are not checked (their numbers are never decrypted to
backfill, since no operator or job may read vault contents).

Revision ID: 0062_system
Revises: 0070_system
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0062_system"
down_revision: str | None = "0070_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text("number_digest IS NOT NULL")


def upgrade() -> None:
    op.add_column("vault_entries", sa.Column("number_digest", sa.LargeBinary(length=32)))
    op.create_index(
        "uq_vault_entries_live_number",
        "vault_entries",
        ["tenant_id", "record_collection", "record_key", "kind", "number_digest"],
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_vault_entries_live_number", table_name="vault_entries")
    op.drop_column("vault_entries", "number_digest")
