"""A tenant reading its own operation log (AUD-3): pages, the CSV export, the bundle.

Reading the log is itself an audited action, recorded in the same unit of work.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from hokan.audit import bundle, repository
from hokan.audit.actions import action, succeeded
from hokan.audit.service import chain_of
from hokan.keyring.service import Keyring
from hokan.kit.db import Database
from hokan.kit.errors import Forbidden
from hokan.principals.principal import Principal


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    action: str | None = None
    actor_id: str | None = None
    result: str | None = None


def _tenant(principal: Principal) -> uuid.UUID:
    if principal.tenant_id is None:
        raise Forbidden("the operation log read here is a tenant's")
    return principal.tenant_id


class AuditLog:
    def __init__(self, db: Database, keyring: Keyring, archive_dir: Path | None) -> None:
        self.db = db
        self.keyring = keyring
        self.archive_dir = archive_dir

    def _rows(
        self,
        session: Session,
        principal: Principal,
        filters: Filters,
        after: int,
        limit: int,
        before: int | None = None,
    ) -> list[Row[Any]]:
        return repository.page(
            session.connection(),
            chain_of(_tenant(principal)),
            after_seq=after,
            limit=limit,
            since=filters.since,
            until=filters.until,
            action=filters.action,
            actor_id=filters.actor_id,
            result=filters.result,
            before_seq=before,
        )

    @action("audit.read", "audit_log")
    def page(
        self, session: Session, principal: Principal, filters: Filters, after: int, limit: int
    ) -> list[Row[Any]]:
        """Up to ``limit`` entries after ``after`` (a seq), oldest first."""
        rows = self._rows(session, principal, filters, after, limit)
        succeeded(session, principal, detail={"count": len(rows)})
        return rows

    @action("audit.read", "audit_log")
    def newest(
        self,
        session: Session,
        principal: Principal,
        filters: Filters,
        before: int | None,
        limit: int,
    ) -> list[Row[Any]]:
        """Up to ``limit`` entries before ``before`` (a seq; None: the newest), newest first."""
        bound = before if before is not None else 2**62
        rows = self._rows(session, principal, filters, 0, limit, bound)
        succeeded(session, principal, detail={"count": len(rows)})
        return rows

    @action("audit.read_own", "audit_log")
    def own(
        self, session: Session, principal: Principal, before: int | None, limit: int
    ) -> list[Row[Any]]:
        """The caller's own entries, newest first: every user may see what they did
        (a clerk sees their reveals) without reading the whole tenant's log."""
        bound = before if before is not None else 2**62
        mine = Filters(actor_id=principal.id)
        rows = self._rows(session, principal, mine, 0, limit, bound)
        succeeded(session, principal, detail={"count": len(rows)})
        return rows

    @action("audit.read", "audit_log")
    def grant_usage(
        self,
        session: Session,
        principal: Principal,
        grant_id: str,
        since: datetime,
        until: datetime,
        limit: int = 1000,
    ) -> list[Row[Any]]:
        """What operators did under one consent grant (OPS-1): the tenant's entries of
        the grant's lifetime that name it, newest first."""
        window = Filters(since=since, until=until)
        rows = self._rows(session, principal, window, 0, 50_000, 2**62)
        used = [r for r in rows if (r.detail or {}).get("grant") == grant_id][:limit]
        succeeded(session, principal, detail={"count": len(used), "grant": grant_id})
        return used

    @action("audit.export", "audit_log")
    def export(
        self, session: Session, principal: Principal, filters: Filters, limit: int
    ) -> list[Row[Any]]:
        """The entries of a CSV export, oldest first."""
        rows = self._rows(session, principal, filters, 0, limit)
        succeeded(session, principal, detail={"count": len(rows)})
        return rows

    # The bundle reads the whole chain: in three steps, so that no transaction (and on
    # SQLite no writer lock) is held while it is read.

    @action("audit.export_bundle", "audit_log")
    def admit_bundle(self, session: Session, principal: Principal) -> None:
        """Declare the export (a failure of the read is audited under it)."""
        _tenant(principal)

    def read_bundle(self, principal: Principal) -> bytes:
        """The whole chain, its signed checkpoints and the public key (offline-verifiable),
        read outside any write transaction."""
        tenant_id = _tenant(principal)
        with self.db.reader(tenant=tenant_id) as conn:
            return bundle.export_from(conn, self.keyring, tenant_id, self.archive_dir)

    @action("audit.export_bundle", "audit_log")
    def bundle_exported(self, session: Session, principal: Principal) -> None:
        succeeded(session, principal)
