"""Terminal-certificate rows: the one place that builds their tenant-scoped queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hokan.kit.db import Database, tenant_scoped
from hokan.models import RetiredCertificate, TerminalCertificate


class CertificateRepository:
    def __init__(self, session: Session, tenant_id: uuid.UUID | None) -> None:
        # tenant_id None: operator (CLI) scope over every tenant.
        self.session = session
        self.tenant_id = tenant_id

    def all(self, *, include_revoked: bool = True) -> list[TerminalCertificate]:
        stmt = select(TerminalCertificate).order_by(
            TerminalCertificate.issued_at, TerminalCertificate.serial
        )
        if self.tenant_id is not None:
            stmt = tenant_scoped(stmt, TerminalCertificate, self.tenant_id)
        if not include_revoked:
            stmt = stmt.where(TerminalCertificate.revoked_at.is_(None))
        return list(self.session.scalars(stmt))

    def by_serial(self, serial: str) -> TerminalCertificate | None:
        stmt = select(TerminalCertificate).where(TerminalCertificate.serial == serial.upper())
        if self.tenant_id is not None:
            stmt = tenant_scoped(stmt, TerminalCertificate, self.tenant_id)
        return self.session.scalars(stmt).one_or_none()

    def revoked(self) -> list[tuple[str, datetime]]:
        stmt = select(TerminalCertificate.serial, TerminalCertificate.revoked_at).where(
            TerminalCertificate.revoked_at.is_not(None)
        )
        found = [(serial, when) for serial, when in self.session.execute(stmt) if when]
        # Serials of disposed tenants' terminals stay listed (LIFE-2): their rows are gone.
        retired = select(RetiredCertificate.serial, RetiredCertificate.revoked_at)
        return found + [(serial, when) for serial, when in self.session.execute(retired)]

    def add(self, row: TerminalCertificate) -> TerminalCertificate:
        self.session.add(row)
        self.session.flush()
        return row


@dataclass(frozen=True, slots=True)
class TerminalState:
    """What the edge needs to know about a presented certificate, per request."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None  # None: an operator terminal
    serial: str
    terminal: str
    not_before: datetime
    not_after: datetime
    revoked: bool


# Built once: this runs on every request that presents a certificate.
_BY_FINGERPRINT = select(
    TerminalCertificate.id,
    TerminalCertificate.tenant_id,
    TerminalCertificate.serial,
    TerminalCertificate.terminal,
    TerminalCertificate.not_before,
    TerminalCertificate.not_after,
    TerminalCertificate.revoked_at,
).where(TerminalCertificate.fingerprint == bindparam("fingerprint"))


def state_by_fingerprint(db: Database, fingerprint: str) -> TerminalState | None:
    """The certificate's current state, read fresh (revocation takes effect at once)."""
    with db.reader(system=True) as conn:
        row = conn.execute(_BY_FINGERPRINT, {"fingerprint": fingerprint}).one_or_none()
    if row is None:
        return None
    return TerminalState(
        row.id,
        row.tenant_id,
        row.serial,
        row.terminal,
        row.not_before,
        row.not_after,
        row.revoked_at is not None,
    )
