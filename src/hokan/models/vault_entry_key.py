from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, LargeBinary, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import KeyringBase, UTCDateTime


class VaultEntryKey(KeyringBase):
    """A vault entry's own key, wrapped by the tenant's vault key (keyring database).

    Destroying it (wrapped_key set to NULL under secure_delete) makes every copy
    of the entry's fragments, in every store and every backup, unreadable (MYN-6).
    """

    __tablename__ = "vault_entry_keys"

    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    key_version: Mapped[int] = mapped_column(Integer)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
