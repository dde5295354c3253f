"""Operator login and sessions (OPS-1, OPS-2, OPS-4).

Operators authenticate like tenant users (serial + password, counted lockout,
one answer for every refusal) with a TOTP code always required, and only from
the operations network (``HOKAN_OPERATOR_CIDRS``): a request from anywhere
else is refused before any credential is looked at, and audited. Sessions are
kept as hashes, bound to the client certificate, with short idle and absolute
timeouts; the network is checked again on every request.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.context import cert_fingerprint_var, source_ip_var
from hokan.identity import mfa, serials
from hokan.identity.errors import (
    InvalidCredentials,
    OperatorNetworkDenied,
    SessionExpired,
)
from hokan.identity.operators import is_expired, revoke_sessions, totp_secret
from hokan.identity.passwords import Passwords
from hokan.identity.sessions import check_binding, count_and_lock
from hokan.keyring.master import MasterKeyProvider
from hokan.kit import crypto
from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.kit.network import in_networks
from hokan.models import Operator, OperatorSession, OperatorStatus
from hokan.principals.operator import OperatorIdentity as OperatorIdentity
from hokan.principals.principal import ANONYMOUS, Principal, PrincipalKind
from hokan.settings import Settings

OPERATOR_COOKIE = "hokan_operator_session"
_LAST_SEEN_GRANULARITY = timedelta(seconds=60)


@dataclass(frozen=True)
class OperatorLogin:
    identity: OperatorIdentity
    session_token: str
    csrf_token: str
    absolute_expires_at: datetime


def operator_principal(operator_id: uuid.UUID, name: str, roles: Sequence[str]) -> Principal:
    # Operators hold no tenant-data permission of their own (OPS-1): scopes come
    # only from a tenant's consent grant, per request.
    return Principal(PrincipalKind.operator, str(operator_id), name, None, roles=frozenset(roles))


def require_operations_network(db: Database, settings: Settings, actor: Principal) -> None:
    """Refuse (and audit) an operator request from outside the operations network (OPS-4)."""
    address = source_ip_var.get()
    if in_networks(address, settings.operator_cidrs):
        return
    with db.session(write=True, system=True) as s:
        audit.record(
            s,
            actor,
            "operator.network_denied",
            "source_ip",
            address,
            result=audit.DENIED,
        )
    raise OperatorNetworkDenied


def _account(db: Database, serial: str) -> Operator | None:
    with db.session(system=True) as s:
        return s.scalars(select(Operator).where(Operator.serial == serial)).one_or_none()


def login(
    db: Database,
    passwords: Passwords,
    master: MasterKeyProvider,
    settings: Settings,
    serial_text: str,
    password: str,
    otp: str | None,
) -> OperatorLogin:
    require_operations_network(db, settings, ANONYMOUS)
    serial = serials.normalise(serial_text)
    row = _account(db, serial) if serials.is_valid(serial) else None
    password_ok = passwords.verify(row.password_hash if row else None, password)
    now = utcnow()
    with db.session(write=True, system=True) as s:
        if row is None:
            audit.record(
                s,
                ANONYMOUS,
                "operator.login",
                "operator",
                serial[:16],
                result=audit.DENIED,
                detail={"reason": "unknown_serial"},
            )
            result = None
        else:
            result = _decide(s, passwords, master, settings, row, password, password_ok, otp, now)
    if result is None:
        raise InvalidCredentials
    return result


def _decide(
    s: Session,
    passwords: Passwords,
    master: MasterKeyProvider,
    settings: Settings,
    row: Operator,
    password: str,
    password_ok: bool,
    otp: str | None,
    now: datetime,
) -> OperatorLogin | None:
    actor = operator_principal(row.id, row.display_name, row.roles)

    def deny(reason: str, **extra: int | str) -> None:
        audit.record(
            s,
            actor,
            "operator.login",
            "operator",
            str(row.id),
            result=audit.DENIED,
            detail={"reason": reason, **extra},
            tenant_id=row.tenant_id,
        )

    if row.status is not OperatorStatus.active:
        deny("disabled")
        return None
    if is_expired(row.kind, row.expires_at, now):
        s.execute(
            update(Operator).where(Operator.id == row.id).values(status=OperatorStatus.disabled)
        )
        deny("expired")
        return None
    if row.locked_until is not None and row.locked_until > now:
        deny("locked")
        return None
    if password_ok:  # the second factor is always required and counts like the password
        step = mfa.matching_step(totp_secret(master, row), otp or "", row.totp_last_step)
        password_ok = (
            step is not None
            and s.execute(
                update(Operator)
                .where(Operator.id == row.id, Operator.totp_last_step < step)
                .values(totp_last_step=step)
            ).rowcount  # type: ignore[attr-defined]
            == 1
        )
    if not password_ok:
        _count_failure(s, row, actor, settings, now)
        return None
    values: dict[str, Any] = {"failed_count": 0, "locked_until": None, "last_login_at": now}
    if passwords.needs_rehash(row.password_hash):
        values["password_hash"] = passwords.hash(password)
    s.execute(update(Operator).where(Operator.id == row.id).values(**values))
    session_token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    absolute = now + timedelta(hours=settings.operator_session_absolute_hours)
    if row.expires_at is not None:
        absolute = min(absolute, row.expires_at)
    s.add(
        OperatorSession(
            operator_id=row.id,
            session_hash=crypto.sha256_hex(session_token.encode()),
            csrf_hash=crypto.sha256_hex(csrf_token.encode()),
            cert_fingerprint=cert_fingerprint_var.get(),
            created_at=now,
            last_seen_at=now,
            absolute_expires_at=absolute,
        )
    )
    audit.record(s, actor, "operator.login", "operator", str(row.id), tenant_id=row.tenant_id)
    identity = OperatorIdentity(actor, row.kind, row.tenant_id, row.expires_at)
    return OperatorLogin(identity, session_token, csrf_token, absolute)


def _count_failure(
    s: Session, row: Operator, actor: Principal, settings: Settings, now: datetime
) -> None:
    threshold = settings.operator_lockout_threshold
    until = now + timedelta(minutes=settings.operator_lockout_minutes)
    failures, locked_now = count_and_lock(s, Operator, row.id, threshold, until, now)
    detail: dict[str, str | int] = {"reason": "bad_credentials"}
    if failures is None:  # a concurrent attempt locked it first: not counted
        detail = {"reason": "locked"}
    else:
        detail["failures"] = failures
    audit.record(
        s,
        actor,
        "operator.login",
        "operator",
        str(row.id),
        result=audit.DENIED,
        detail=detail,
        tenant_id=row.tenant_id,
    )
    if locked_now:
        revoke_sessions(s, row.id, now)
        audit.record(
            s,
            actor,
            "operator.lock",
            "operator",
            str(row.id),
            detail={"failures": threshold, "minutes": settings.operator_lockout_minutes},
            tenant_id=row.tenant_id,
        )


_SESSION_LOOKUP = (
    select(
        OperatorSession.id,
        OperatorSession.csrf_hash,
        OperatorSession.cert_fingerprint,
        OperatorSession.last_seen_at,
        OperatorSession.absolute_expires_at,
        OperatorSession.revoked_at,
        Operator.id.label("operator_id"),
        Operator.display_name,
        Operator.roles,
        Operator.status,
        Operator.kind,
        Operator.tenant_id,
        Operator.expires_at,
    )
    .join(Operator, Operator.id == OperatorSession.operator_id)
    .where(OperatorSession.session_hash == bindparam("digest"))
)


def _revoke(db: Database, session_id: uuid.UUID, now: datetime) -> None:
    with db.session(write=True, system=True) as s:
        s.execute(
            update(OperatorSession).where(OperatorSession.id == session_id).values(revoked_at=now)
        )


def authenticate(
    db: Database, settings: Settings, token: str, method: str, csrf_token: str | None
) -> OperatorIdentity:
    """Resolve an operator session cookie, enforcing network, expiry, certificate and CSRF."""
    digest = crypto.sha256_hex(token.encode())
    now = utcnow()
    with db.reader(system=True) as conn:
        row = conn.execute(_SESSION_LOOKUP, {"digest": digest}).one_or_none()
    if row is None or row.revoked_at is not None or row.status is not OperatorStatus.active:
        raise SessionExpired
    actor = operator_principal(row.operator_id, row.display_name, row.roles)
    require_operations_network(db, settings, actor)
    idle_deadline = row.last_seen_at + timedelta(minutes=settings.operator_session_idle_minutes)
    if (
        now >= row.absolute_expires_at
        or now >= idle_deadline
        or is_expired(row.kind, row.expires_at, now)
    ):
        _revoke(db, row.id, now)
        raise SessionExpired
    check_binding(row.cert_fingerprint, row.csrf_hash, method, csrf_token)
    if now - row.last_seen_at > _LAST_SEEN_GRANULARITY:
        with db.session(write=True, system=True) as s:
            s.execute(
                update(OperatorSession)
                .where(OperatorSession.id == row.id, OperatorSession.revoked_at.is_(None))
                .values(last_seen_at=now)
            )
    return OperatorIdentity(actor, row.kind, row.tenant_id, row.expires_at)


def logout(db: Database, token: str) -> None:
    with db.session(write=True, system=True) as s:
        s.execute(
            update(OperatorSession)
            .where(OperatorSession.session_hash == crypto.sha256_hex(token.encode()))
            .values(revoked_at=utcnow())
        )
