"""The one place that builds tenant-scoped vault queries: the catalogue (system database)
and the fragments (the fragment stores)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from hokan.kit.db import tenant_scoped
from hokan.models import (
    Collection,
    Record,
    VaultDeletion,
    VaultEntry,
    VaultEntryKind,
    VaultFragment,
)
from hokan.vault.views import RecordLink

FRAGMENT_COLUMNS = (
    VaultFragment.entry_id,
    VaultFragment.tenant_id,
    VaultFragment.idx,
    VaultFragment.k,
    VaultFragment.n,
    VaultFragment.size,
    VaultFragment.tag,
    VaultFragment.data,
    VaultFragment.created_at,
)
# The hot path (one entry of one tenant): built once, bound per call.
FRAGMENT = select(*FRAGMENT_COLUMNS).where(
    VaultFragment.entry_id == bindparam("entry_id"),
    VaultFragment.tenant_id == bindparam("tenant_id"),
)


def fragments(
    tenant_id: uuid.UUID | None, entry_ids: Sequence[uuid.UUID]
) -> Select[uuid.UUID, uuid.UUID, int, int, int, int, str, bytes, datetime]:
    """The fragments of these entries in one store; of one tenant unless ``tenant_id`` is None
    (repair and re-placement work across tenants)."""
    stmt = select(*FRAGMENT_COLUMNS).where(VaultFragment.entry_id.in_(list(entry_ids)))
    return stmt if tenant_id is None else stmt.where(VaultFragment.tenant_id == tenant_id)


class VaultRepository:
    def __init__(self, session: Session, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _scoped(self, model: Any) -> Select[Any]:
        return tenant_scoped(select(model), model, self.tenant_id)

    def entry(self, entry_id: uuid.UUID) -> VaultEntry | None:
        """The tenant's entry, or None (another tenant's entry is simply not there)."""
        return self.session.scalars(
            self._scoped(VaultEntry).where(VaultEntry.id == entry_id)
        ).one_or_none()

    def entries(self) -> Select[Any]:
        return self._scoped(VaultEntry)

    def deletions(self) -> Select[Any]:
        return self._scoped(VaultDeletion)

    def kept_collection(self, name: str) -> bool:
        """Whether the tenant keeps a collection of this name in Hokan."""
        stmt = tenant_scoped(select(Collection.id), Collection, self.tenant_id)
        return self.session.scalar(stmt.where(Collection.name == name)) is not None

    def live_record(self, link: RecordLink) -> bool:
        """Whether ``link`` names a live (not deleted) record of the tenant."""
        stmt = (
            tenant_scoped(select(Record.id), Record, self.tenant_id)
            .join(Collection, Collection.id == Record.collection_id)
            .where(
                Collection.name == link.collection,
                Record.record_key == link.record_id,
                Record.deleted_at.is_(None),
            )
        )
        return self.session.scalar(stmt) is not None

    def live_number(
        self, link: RecordLink, kind: VaultEntryKind, digest: bytes
    ) -> uuid.UUID | None:
        """The live entry holding this number (by its digest) for this record and kind."""
        stmt = tenant_scoped(select(VaultEntry.id), VaultEntry, self.tenant_id).where(
            VaultEntry.record_collection == link.collection,
            VaultEntry.record_key == link.record_id,
            VaultEntry.kind == kind,
            VaultEntry.number_digest == digest,
        )
        return self.session.scalar(stmt)
