"""Operator login and sessions (OPS-1, OPS-2, OPS-4).

Operators authenticate like tenant users (serial + password, counted lockout,
one answer for every refusal) with a TOTP code always required, and only from
the operations network (``HOKAN_OPERATOR_CIDRS``): a request from anywhere
else is refused before any credential is looked at, and audited. Sessions are
kept as hashes, bound to the client certificate, with short idle and absolute
timeouts; the network is checked again on every request.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.context import source_ip_var
from hokan.identity import login_decision, mfa, serials
from hokan.identity.errors import (
    InvalidCredentials,
    OperatorNetworkDenied,
    SessionExpired,
)
from hokan.identity.login_decision import Attempt, Checked, Opened
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


def check(
    db: Database, passwords: Passwords, settings: Settings, serial_text: str, password: str
) -> Checked:
    """The network first (refused and audited from elsewhere), then serial and password:
    read and verified before any write transaction opens."""
    require_operations_network(db, settings, ANONYMOUS)
    serial = serials.normalise(serial_text)
    row = _account(db, serial) if serials.is_valid(serial) else None
    password_ok = passwords.verify(row.password_hash if row else None, password)
    return Checked(serial, row, password_ok, password)


def decide(
    s: Session,
    checked: Checked,
    *,
    passwords: Passwords,
    master: MasterKeyProvider,
    settings: Settings,
    otp: str | None,
) -> OperatorLogin | None:
    """Decide a checked operator login in ``s`` (system scope); None when refused
    (and recorded there)."""
    row: Operator | None = checked.row
    if row is None:
        audit.record(
            s,
            ANONYMOUS,
            "operator.login",
            "operator",
            checked.serial[:16],
            result=audit.DENIED,
            detail={"reason": "unknown_serial"},
        )
        return None
    now = utcnow()
    attempt = Attempt(
        Operator,
        row.id,
        row.tenant_id,
        operator_principal(row.id, row.display_name, row.roles),
        row.password_hash,
        action="operator.login",
        target_type="operator",
        lock_action="operator.lock",
        bad_reason="bad_credentials",
    )
    opened = login_decision.decide(
        s,
        attempt,
        refused=_refusal(s, row, now),
        password_ok=checked.password_ok,
        second_factor=partial(_second_factor, s, master, row, otp),
        count_failure=partial(_count_failure, s, attempt, settings, now),
        passwords=passwords,
        password=checked.password,
        now=now,
    )
    return None if opened is None else _open(s, row, attempt, opened, settings, now)


def _second_factor(s: Session, master: MasterKeyProvider, row: Operator, otp: str | None) -> bool:
    """The TOTP code, always required for operators; each time step is used once."""
    step = mfa.matching_step(totp_secret(master, row), otp or "", row.totp_last_step)
    return (
        step is not None
        and s.execute(
            update(Operator)
            .where(Operator.id == row.id, Operator.totp_last_step < step)
            .values(totp_last_step=step)
        ).rowcount  # type: ignore[attr-defined]
        == 1
    )


def _count_failure(s: Session, attempt: Attempt, settings: Settings, now: datetime) -> None:
    threshold = settings.operator_lockout_threshold
    until = now + timedelta(minutes=settings.operator_lockout_minutes)
    failures, locked_now = count_and_lock(s, Operator, attempt.account_id, threshold, until, now)
    attempt.failed(
        s,
        failures,
        locked_now=locked_now,
        threshold=threshold,
        minutes=settings.operator_lockout_minutes,
        revoke=partial(revoke_sessions, s, attempt.account_id, now),
    )


def _open(
    s: Session,
    row: Operator,
    attempt: Attempt,
    opened: Opened,
    settings: Settings,
    now: datetime,
) -> OperatorLogin:
    absolute = now + timedelta(hours=settings.operator_session_absolute_hours)
    if row.expires_at is not None:
        absolute = min(absolute, row.expires_at)
    s.add(
        OperatorSession(
            operator_id=row.id,
            session_hash=opened.session_hash,
            csrf_hash=opened.csrf_hash,
            cert_fingerprint=opened.cert_fingerprint,
            created_at=now,
            last_seen_at=now,
            absolute_expires_at=absolute,
        )
    )
    identity = OperatorIdentity(attempt.actor, row.kind, row.tenant_id, row.expires_at)
    return OperatorLogin(identity, opened.session_token, opened.csrf_token, absolute)


def _refusal(s: Session, row: Operator, now: datetime) -> str | None:
    if row.status is not OperatorStatus.active:
        return "disabled"
    if is_expired(row.kind, row.expires_at, now):
        s.execute(
            update(Operator).where(Operator.id == row.id).values(status=OperatorStatus.disabled)
        )
        return "expired"
    if row.locked_until is not None and row.locked_until > now:
        return "locked"
    return None


def login(
    db: Database,
    passwords: Passwords,
    master: MasterKeyProvider,
    *,
    settings: Settings,
    serial_text: str,
    password: str,
    otp: str | None,
) -> OperatorLogin:
    """Log an operator in or raise :class:`InvalidCredentials` (the HTTP route runs the
    same steps, the decision in its unit of work)."""
    checked = check(db, passwords, settings, serial_text, password)
    with db.session(write=True, system=True) as s:
        result = decide(s, checked, passwords=passwords, master=master, settings=settings, otp=otp)
    if result is None:
        raise InvalidCredentials
    return result


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


def end_session(s: Session, token: str) -> None:
    s.execute(
        update(OperatorSession)
        .where(OperatorSession.session_hash == crypto.sha256_hex(token.encode()))
        .values(revoked_at=utcnow())
    )


def logout(db: Database, token: str) -> None:
    with db.session(write=True, system=True) as s:
        end_session(s, token)
