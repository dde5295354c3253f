"""Scheduled vault jobs: ``vault.purge_due`` carries out scheduled deletions (MYN-6)."""

from __future__ import annotations

import logging

from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.kit.jobs import Job, JobHost, JobResult
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


def _purge_due(host: JobHost) -> JobResult:
    return JobResult({"deleted": len(purge_due(host.db, host.resolve(VaultService)))})


PURGE_DUE = Job(
    "vault.purge_due",
    "every 15m",
    _purge_due,
    "削除予定日を迎えた個人番号・本人確認書類を削除 (MYN-6)",
    "Delete My Number entries whose scheduled deletion has come (MYN-6)",
)

JOBS = (PURGE_DUE,)
