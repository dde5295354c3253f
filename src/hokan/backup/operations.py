"""What operators do with backups over the API (ADR 0022): list generations with their
verification coverage, read one, list and request restore drills, list and file restore
requests. Each entry point declares its audited action (ADR 0014)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hokan.audit.actions import action, succeeded
from hokan.backup import coverage, drills, errors
from hokan.backup.service import Backups
from hokan.backup.targets import check_generation
from hokan.kit.clock import iso
from hokan.models import BackupDrill, BackupRestoreRequest, Tenant
from hokan.monitoring.errors import UnknownTenant
from hokan.principals.principal import Principal

MODES = ("new_directory", "tenant", "in_place")


def _generation(generation: str, *_: object, **__: object) -> str:
    return generation[:80]


def restore_request_json(row: BackupRestoreRequest) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "requested_at": iso(row.requested_at),
        "requested_by": row.requested_by,
        "generation": row.generation,
        "tenant": row.tenant_code,
        "mode": row.mode,
        "reason": row.reason,
        "status": row.status,
    }


class BackupOperations:
    def __init__(self, backups: Backups) -> None:
        self.backups = backups

    def _coverage(self) -> dict[tuple[str, str], dict[str, Any]]:
        days = self.backups.settings.backup_verify_days
        return {
            (c["target"], c["generation"]): c
            for c in coverage.coverage(self.backups, days, self.backups.clock())
        }

    @action("backup.list", "backup", "*")
    def listing(
        self,
        session: Session,
        principal: Principal,
        *,
        klass: str | None = None,
        target: str | None = None,
    ) -> list[dict[str, Any]]:
        known = self._coverage()
        out = []
        for shown in self.backups.listing(klass=klass, target_name=target):
            found = known.get((shown["target"], shown["generation"]))
            shown["coverage"] = (
                {k: found[k] for k in ("checked_at", "verified_at", "covered_until", "error")}
                | {"within_window": found["within_window"]}
                if found
                else None
            )
            out.append(shown)
        succeeded(session, principal, detail={"count": len(out)})
        return out

    @action("backup.read", "backup", _generation)
    def detail(self, session: Session, principal: Principal, generation: str) -> dict[str, Any]:
        check_generation(generation)
        shown = self.backups.show(generation)
        target = shown.get("target")
        shown["coverage"] = self._coverage().get((str(target), generation))
        rows = session.scalars(
            select(BackupDrill)
            .where(BackupDrill.generation == generation)
            .order_by(BackupDrill.requested_at.desc())
            .limit(20)
        )
        shown["drills"] = [drills.drill_json(r) for r in rows]
        succeeded(session, principal)
        return shown

    @action("backup.drills_list", "backup", "*")
    def drills(
        self, session: Session, principal: Principal, *, limit: int = 50
    ) -> list[dict[str, Any]]:
        rows = session.scalars(
            select(BackupDrill).order_by(BackupDrill.requested_at.desc()).limit(limit)
        )
        out = [drills.drill_json(r) for r in rows]
        succeeded(session, principal, detail={"count": len(out)})
        return out

    @action("backup.drill_request", "backup", "")
    def request_drill(
        self, session: Session, principal: Principal, *, now: datetime
    ) -> dict[str, Any]:
        row = BackupDrill(
            requested_at=now,
            requested_by=principal.display_name[:100],
            trigger="request",
            status=drills.REQUESTED,
            result={},
        )
        session.add(row)
        session.flush()
        succeeded(session, principal, target_id=str(row.id))
        return drills.drill_json(row)

    @action("backup.restore_requests_list", "backup", "*")
    def restore_requests(
        self, session: Session, principal: Principal, *, limit: int = 50
    ) -> list[dict[str, Any]]:
        rows = session.scalars(
            select(BackupRestoreRequest)
            .order_by(BackupRestoreRequest.requested_at.desc())
            .limit(limit)
        )
        out = [restore_request_json(r) for r in rows]
        succeeded(session, principal, detail={"count": len(out)})
        return out

    @action("backup.restore_request", "backup", "")
    def request_restore(
        self,
        session: Session,
        principal: Principal,
        *,
        generation: str,
        mode: str,
        reason: str,
        tenant_code: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        """File a restore request (the operations manager's decision, audited); an
        operator carries it out with ``hokan restore`` and the request names what."""
        check_generation(generation)
        self.backups._find(generation)  # backup_generation_not_found (404)
        tenant_id: uuid.UUID | None = None
        if tenant_code:
            tenant_id = session.scalars(select(Tenant.id).where(Tenant.code == tenant_code)).first()
            if tenant_id is None:
                raise UnknownTenant()
        if mode == "tenant" and not tenant_code:
            raise errors.RestoreRefused("tenant_needed")
        row = BackupRestoreRequest(
            requested_at=now,
            requested_by=principal.display_name[:100],
            generation=generation,
            tenant_code=tenant_code,
            mode=mode,
            reason=reason.strip()[:2000],
            status="requested",
        )
        session.add(row)
        session.flush()
        succeeded(
            session,
            principal,
            target_id=str(row.id),
            detail={"generation": generation, "mode": mode, "tenant": tenant_code},
        )
        return restore_request_json(row)


def close_request(backups: Backups, request_id: str, status: str) -> dict[str, Any]:
    """Mark a restore request ``done`` or ``cancelled`` (from the CLI, once carried out);
    audited as ``backup.restore_request_closed``."""
    assert backups.db is not None
    try:
        wanted = uuid.UUID(request_id)
    except ValueError:
        raise errors.RestoreRequestNotFound() from None
    with backups.db.session(write=True, system=True) as s:
        row = s.get(BackupRestoreRequest, wanted)
        if row is None:
            raise errors.RestoreRequestNotFound()
        row.status = status
        shown = restore_request_json(row)
    backups._audit(
        "backup.restore_request_closed",
        str(wanted),
        detail={"status": status, "generation": shown["generation"]},
    )
    return shown


def open_requests(backups: Backups) -> list[dict[str, Any]]:
    assert backups.db is not None
    with backups.db.session(system=True) as s:
        rows = s.scalars(
            select(BackupRestoreRequest)
            .where(BackupRestoreRequest.status == "requested")
            .order_by(BackupRestoreRequest.requested_at)
        )
        return [restore_request_json(r) for r in rows]
