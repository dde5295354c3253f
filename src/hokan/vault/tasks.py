"""Scheduled vault jobs: ``vault.purge_due`` carries out scheduled deletions (MYN-6)."""

from __future__ import annotations

import logging

from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.principals.principal import SYSTEM, Principal
from hokan.vault.service import VaultService
from hokan.vault.views import DeletionView

log = logging.getLogger("hokan.vault")


def purge_due(db: Database, vault: VaultService, actor: Principal = SYSTEM) -> list[DeletionView]:
    """Delete every entry whose scheduled deletion has come; one transaction per entry."""
    with db.session(system=True) as s:
        due = vault.due(s, utcnow())
    done: list[DeletionView] = []
    for tenant_id, entry_id in due:
        with db.session(write=True, tenant=tenant_id) as s:
            view = vault.purge(s, actor, tenant_id, entry_id)
        if view is not None:
            done.append(view)
    if done:
        log.info("vault purge", extra={"fields": {"deleted": len(done)}})
    return done
