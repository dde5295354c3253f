"""Issuing, listing and revoking terminal certificates; publishing the CRL.

Every change is audited on the tenant's chain in the same transaction. The
private key of a terminal exists only inside the PKCS#12 bundle handed back
once; Hokan keeps the certificate's public facts.
"""

from __future__ import annotations

import secrets
import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.actions import action, succeeded
from hokan.certificates.ca import CertificateAuthority, fingerprint, pkcs12_bundle, serial_hex
from hokan.certificates.errors import (
    CertificateAlreadyRevoked,
    CertificateNotFound,
    InvalidTerminalName,
)
from hokan.certificates.repository import CertificateRepository
from hokan.kit.clock import iso, to_jst, utcnow
from hokan.kit.errors import Forbidden
from hokan.models import Tenant, TenantStatus, TerminalCertificate
from hokan.principals.principal import Principal
from hokan.tenants.errors import TenantInactive
from hokan.tenants.notices import notify

# No 0/O, 1/l/I: the password is read off a screen and typed on the terminal.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105


OPERATIONS = "hokan-operations"  # the subject's O for operator terminals


@dataclass(frozen=True)
class Issued:
    certificate: TerminalCertificate
    pkcs12: bytes
    password: str


def new_password() -> str:
    """Four groups of five characters (~117 bits)."""
    return "-".join("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(5)) for _ in range(4))


def _check_name(terminal: str) -> str:
    name = unicodedata.normalize("NFKC", terminal).strip()
    if not 1 <= len(name) <= 64 or any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidTerminalName
    return name


def as_json(row: TerminalCertificate) -> dict[str, object]:
    now = utcnow()
    status = (
        "revoked"
        if row.revoked_at
        else "expired"
        if row.not_after <= now
        else "not_yet_valid"
        if row.not_before > now
        else "valid"
    )
    return {
        "serial": row.serial,
        "tenant_id": str(row.tenant_id) if row.tenant_id else None,  # None: operator terminal
        "fingerprint": row.fingerprint,
        "terminal": row.terminal,
        "subject": row.subject,
        "status": status,
        "not_before": iso(row.not_before),
        "not_after": iso(row.not_after),
        "issued_at": iso(row.issued_at),
        "issued_by": row.issued_by,
        "revoked_at": iso(row.revoked_at) if row.revoked_at else None,
        "revoked_by": row.revoked_by,
        "revocation_reason": row.revocation_reason,
    }


def issue(
    session: Session,
    ca: CertificateAuthority,
    tenant: Tenant | None,
    terminal: str,
    days: int,
    actor: Principal,
    *,
    password: str | None = None,
    legacy: bool = False,
    not_before: datetime | None = None,
) -> Issued:
    """Issue a client certificate for one terminal of ``tenant`` (None: an operator
    terminal for Hokan's own staff), as a PKCS#12 bundle."""
    if tenant is not None and tenant.status is not TenantStatus.active:
        raise TenantInactive
    name = _check_name(terminal)
    tenant_id = tenant.id if tenant else None
    owner = tenant.code if tenant else OPERATIONS
    cert, key = ca.issue_terminal(tenant_id, owner, name, days, not_before)
    password = password or new_password()
    bundle = pkcs12_bundle(
        cert, key, ca.certificate(), f"{owner} {name}", password.encode(), legacy=legacy
    )
    row = CertificateRepository(session, tenant_id).add(
        TerminalCertificate(
            tenant_id=tenant_id,
            serial=serial_hex(cert.serial_number),
            fingerprint=fingerprint(cert),
            terminal=name,
            subject=cert.subject.rfc4514_string()[:300],
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            issued_by=actor.actor[:200],
        )
    )
    audit.record(
        session,
        actor,
        "certificate.issue",
        "terminal_certificate",
        row.serial,
        detail={"terminal": name, "not_after": iso(row.not_after)},
        tenant_id=tenant_id,
    )
    return Issued(row, bundle, password)


def get(session: Session, serial: str, tenant_id: uuid.UUID | None = None) -> TerminalCertificate:
    """One certificate by serial; another tenant's is "not found"."""
    row = CertificateRepository(session, tenant_id).by_serial(serial)
    if row is None:
        raise CertificateNotFound
    return row


def revoke(
    session: Session, row: TerminalCertificate, actor: Principal, reason: str
) -> TerminalCertificate:
    """Revoke at once: the app refuses the certificate from the next request on."""
    if row.revoked_at is not None:
        raise CertificateAlreadyRevoked
    row.revoked_at = utcnow()
    row.revoked_by = actor.actor[:200]
    row.revocation_reason = reason[:200] or "unspecified"
    session.flush()
    audit.record(
        session,
        actor,
        "certificate.revoke",
        "terminal_certificate",
        row.serial,
        detail={"terminal": row.terminal, "reason": row.revocation_reason},
        tenant_id=row.tenant_id,
    )
    if row.tenant_id is not None:
        _notify_revoked(session, row)
    return row


def _notify_revoked(session: Session, row: TerminalCertificate) -> None:
    """Tell the tenant's security contacts and admins (a stolen terminal is their call)."""
    when = row.revoked_at or utcnow()
    body = (
        "ご担当者様\n\n"
        "次の端末証明書を失効させました。この証明書ではもう接続できません。\n"
        f"  端末: {row.terminal}\n  シリアル: {row.serial}\n"
        f"  理由: {row.revocation_reason}\n  実施者: {row.revoked_by}\n"
        f"  日時: {to_jst(when):%Y-%m-%d %H:%M} (日本時間)\n\n"
        "お心当たりがない場合は、Hokan の運用窓口にご連絡ください。\n\n"
        "---\n"
        f"The terminal certificate {row.serial} ({row.terminal}) was revoked by "
        f"{row.revoked_by} at {iso(when)} (reason: {row.revocation_reason}). "
        "It can no longer connect.\n"
    )
    notify(
        session,
        "certificate.revoked",
        tenant=row.tenant_id,
        subject="【Hokan】端末証明書を失効させました / Terminal certificate revoked",
        body=body,
    )


def crl(session: Session, ca: CertificateAuthority, days: int) -> bytes:
    """The CRL for the front (PEM), listing every revoked certificate."""
    revoked = CertificateRepository(session, None).revoked()
    # CRL numbers must grow; seconds since the epoch do, across processes.
    return ca.crl(revoked, days, int(time.time()))


def _serial(serial: str, *_: object) -> str:
    return serial[:40]


class TerminalCertificates:
    """A tenant admin's view of the tenant's own terminals (unit-of-work entry points)."""

    @action("certificate.list", "terminal_certificate", "*")
    def listing(self, session: Session, principal: Principal) -> list[TerminalCertificate]:
        rows = CertificateRepository(session, _tenant(principal)).all()
        succeeded(session, principal, detail={"count": len(rows)})
        return rows

    @action("certificate.revoke", "terminal_certificate", _serial)
    def revoke(
        self, session: Session, principal: Principal, serial: str, reason: str
    ) -> TerminalCertificate:
        """Revoke one of the tenant's terminal certificates (audits its success)."""
        return revoke(session, get(session, serial, _tenant(principal)), principal, reason)

    @action("certificate.issue", "terminal_certificate")
    def issue(
        self,
        session: Session,
        principal: Principal,
        ca: CertificateAuthority,
        terminal: str,
        days: int,
    ) -> Issued:
        """Issue a terminal certificate of the admin's own tenant (``issue`` records it);
        the PKCS#12 bundle and its password are handed back once."""
        tenant = session.get(Tenant, _tenant(principal))
        if tenant is None:
            raise Forbidden
        return issue(session, ca, tenant, terminal, days, principal)


def _tenant(principal: Principal) -> uuid.UUID:
    if principal.tenant_id is None:  # None would mean every tenant's certificates
        raise Forbidden("terminal certificates are listed per tenant")
    return principal.tenant_id
