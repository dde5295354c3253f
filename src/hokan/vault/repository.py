"""The one place that builds tenant-scoped vault catalogue queries."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hokan.kit.db import tenant_scoped
from hokan.models import VaultDeletion, VaultEntry


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
