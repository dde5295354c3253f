from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import UTCDateTime, VaultStoreBase


class VaultFragment(VaultStoreBase):
    """One erasure-coded fragment of one entry's ciphertext, in one fragment store.

    ``tag`` is the fragment's integrity tag (SHA-256 over the entry id, index,
    code parameters and bytes); the catalogue keeps a copy, so a store cannot
    swap a fragment and its tag together unnoticed.
    """

    __tablename__ = "vault_fragments"

    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    idx: Mapped[int] = mapped_column(Integer)
    k: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)  # length of the whole ciphertext
    data: Mapped[bytes] = mapped_column(LargeBinary)
    tag: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VaultStoreIdentity(VaultStoreBase):
    """Which store this database is: written once, by ``hokan init`` / ``db upgrade``.

    ``set_id`` is shared by the n stores of one installation and ``store_index`` is
    this store's place among them (1-based), so ``/readyz`` tells a swapped file,
    another installation's file or an empty database from the store it replaced.
    """

    __tablename__ = "vault_store_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1: one row
    set_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    store_index: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
