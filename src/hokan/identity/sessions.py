"""Login with lockout (IAM-3) and sessions (IAM-5).

Login answers every refusal alike: an unknown serial, a wrong password, a
locked or disabled account and an inactive tenant all get 401
``invalid_credentials``, after the same Argon2id work. Failures are counted by
one atomic UPDATE that also sets the lock when the count reaches the tenant's
threshold, so concurrent attempts can never count past it. Sessions are opaque
256-bit ids kept only as SHA-256, with a CSRF token, idle and absolute
timeouts, and the client-certificate fingerprint they were opened with.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, case, or_, select, update
from sqlalchemy.orm import Session

from hokan import mail
from hokan.audit import service as audit
from hokan.audit.context import cert_fingerprint_var, source_ip_var
from hokan.identity import mfa, serials
from hokan.identity.contacts import security_recipients
from hokan.identity.errors import (
    CsrfFailed,
    InvalidCredentials,
    SessionCertificateMismatch,
    SessionExpired,
)
from hokan.identity.lockout import RedisLockout
from hokan.identity.passwords import Passwords
from hokan.identity.spraying import SprayingDetector
from hokan.keyring.service import Keyring
from hokan.kit import crypto
from hokan.kit.clock import iso, to_jst, utcnow
from hokan.kit.db import Database
from hokan.kit.errors import DependencyUnavailable
from hokan.models import Operator, Tenant, TenantStatus, User, UserSession, UserStatus
from hokan.principals.principal import ANONYMOUS, Principal, PrincipalKind
from hokan.principals.roles import permissions_of
from hokan.tenants.schemas import TenantSettings

SESSION_COOKIE = "hokan_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LAST_SEEN_GRANULARITY = timedelta(seconds=60)


@dataclass(frozen=True)
class LoginResult:
    principal: Principal
    session_token: str  # goes into the cookie; never stored
    csrf_token: str  # returned once; the client sends it back on writes
    absolute_expires_at: datetime


def user_principal(
    user_id: uuid.UUID, name: str, tenant_id: uuid.UUID, roles: list[str], mfa_ok: bool = True
) -> Principal:
    """A user's principal; without a required second factor it may only set one up."""
    return Principal(
        kind=PrincipalKind.user,
        id=str(user_id),
        display_name=name,
        tenant_id=tenant_id,
        scopes=permissions_of(roles) if mfa_ok else frozenset(),
        roles=frozenset(roles),
    )


def mfa_satisfied(tenant_settings: dict[str, Any] | None, totp_enabled: bool) -> bool:
    return bool(totp_enabled) or not (tenant_settings or {}).get("mfa_required", False)


def _account(db: Database, serial: str) -> Row[Any] | None:
    with db.reader(system=True) as conn:
        return conn.execute(
            select(
                User.id,
                User.tenant_id,
                User.display_name,
                User.roles,
                User.password_hash,
                User.status,
                User.locked_until,
                User.totp_enabled,
                Tenant.status.label("tenant_status"),
                Tenant.settings.label("tenant_settings"),
            )
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(User.serial == serial)
        ).one_or_none()


def revoke_sessions(session: Session, user_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def login(
    db: Database,
    passwords: Passwords,
    serial_text: str,
    password: str,
    spraying: SprayingDetector | None = None,
    lockout: RedisLockout | None = None,
    otp: str | None = None,
    keyring: Keyring | None = None,
) -> LoginResult:
    """Check a serial and password; open a session or raise :class:`InvalidCredentials`."""
    serial = serials.normalise(serial_text)
    row = _account(db, serial) if serials.is_valid(serial) else None
    # Always one Argon2id verification, found or not, so timing tells nothing.
    password_ok = passwords.verify(row.password_hash if row else None, password)
    now = utcnow()
    try:
        result = _check(
            db, passwords, row, serial, password, password_ok, now, lockout, otp, keyring
        )
        tried = None
        if result is None and spraying is not None:
            tried = spraying.failure(source_ip_var.get(), serial)
    except DependencyUnavailable:  # the counters fail closed: refused, and on the record
        with db.session(write=True, system=True) as s:
            audit.record(
                s,
                ANONYMOUS,
                "auth.login",
                "user",
                str(row.id) if row is not None else serial[:16],
                result=audit.ERROR,
                detail={"reason": "dependency_unavailable"},
            )
        raise
    if result is None:
        if tried is not None:
            with db.session(write=True, system=True) as s:
                audit.record(
                    s,
                    ANONYMOUS,
                    "auth.spraying_suspected",
                    "source_ip",
                    source_ip_var.get(),
                    result=audit.DENIED,
                    detail={"serials": tried},
                )
            if spraying is not None:
                spraying.alarm(source_ip_var.get(), tried)
        raise InvalidCredentials
    return result


def _check(
    db: Database,
    passwords: Passwords,
    row: Row[Any] | None,
    serial: str,
    password: str,
    password_ok: bool,
    now: datetime,
    lockout: RedisLockout | None,
    otp: str | None,
    keyring: Keyring | None,
) -> LoginResult | None:
    """Decide one attempt in one transaction: a session, or None (denied, and audited)."""
    with db.session(write=True, system=True) as s:
        if row is None:
            reason = "unknown_serial" if serials.is_valid(serial) else "malformed_serial"
            audit.record(
                s,
                ANONYMOUS,
                "auth.login",
                "user",
                serial[:16],
                result=audit.DENIED,
                detail={"reason": reason},
            )
            return None
        if password_ok and row.totp_enabled:  # the second factor counts like the password
            user = s.get(User, row.id)
            password_ok = bool(user and keyring and mfa.check(s, keyring, user, otp))
        return _decide(s, passwords, row, serial, password, password_ok, now, lockout)


def _decide(
    s: Session,
    passwords: Passwords,
    row: Row[Any],
    serial: str,
    password: str,
    password_ok: bool,
    now: datetime,
    lockout: RedisLockout | None = None,
) -> LoginResult | None:
    settings = TenantSettings.model_validate(row.tenant_settings or {})
    actor = user_principal(
        row.id,
        row.display_name,
        row.tenant_id,
        list(row.roles),
        mfa_satisfied(row.tenant_settings, row.totp_enabled),
    )

    def deny(reason: str, **extra: int | str) -> None:
        audit.record(
            s,
            actor,
            "auth.login",
            "user",
            str(row.id),
            result=audit.DENIED,
            detail={"reason": reason, **extra},
            tenant_id=row.tenant_id,
        )

    if row.status is not UserStatus.active:
        deny("disabled")
        return None
    if row.tenant_status is not TenantStatus.active:
        deny("tenant_inactive")
        return None
    if (row.locked_until is not None and row.locked_until > now) or (
        lockout is not None and lockout.locked(row.id)
    ):
        deny("locked")
        return None
    if row.locked_until is not None:  # the lock ran out since the last attempt
        s.execute(update(User).where(User.id == row.id).values(locked_until=None, failed_count=0))
        audit.record(
            s,
            actor,
            "auth.unlock",
            "user",
            str(row.id),
            detail={"reason": "expired"},
            tenant_id=row.tenant_id,
        )
    if not password_ok:
        _count_failure(s, row, serial, actor, settings, now, lockout)
        return None
    if lockout is not None:
        lockout.success(row.id)
    values: dict[str, Any] = {"failed_count": 0, "locked_until": None, "last_login_at": now}
    if passwords.needs_rehash(row.password_hash):
        values["password_hash"] = passwords.hash(password)
    s.execute(update(User).where(User.id == row.id).values(**values))
    session_token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    absolute = now + timedelta(hours=settings.session_absolute_hours)
    s.add(
        UserSession(
            tenant_id=row.tenant_id,
            user_id=row.id,
            session_hash=crypto.sha256_hex(session_token.encode()),
            csrf_hash=crypto.sha256_hex(csrf_token.encode()),
            cert_fingerprint=cert_fingerprint_var.get(),
            created_at=now,
            last_seen_at=now,
            absolute_expires_at=absolute,
        )
    )
    audit.record(s, actor, "auth.login", "user", str(row.id), tenant_id=row.tenant_id)
    return LoginResult(actor, session_token, csrf_token, absolute)


def count_and_lock(
    s: Session,
    model: type[User] | type[Operator],
    account_id: uuid.UUID,
    threshold: int,
    until: datetime,
    now: datetime,
) -> tuple[int | None, bool]:
    """Count one failure and lock at the threshold, in one statement (IAM-3).

    Returns the failures so far (None when a concurrent attempt had already
    locked the account: not counted) and whether this failure locked it. The
    attempt that reaches the threshold sets the lock, so later concurrent
    attempts no longer match: never more than N counted.
    """
    reaches = model.failed_count + 1 >= threshold
    returned = s.execute(
        update(model)
        .where(
            model.id == account_id,
            or_(model.locked_until.is_(None), model.locked_until <= now),
        )
        .values(
            failed_count=case((reaches, 0), else_=model.failed_count + 1),
            locked_until=case((reaches, until), else_=model.locked_until),
        )
        .returning(model.failed_count, model.locked_until)
    ).one_or_none()
    locked_now = bool(returned and returned.locked_until and returned.locked_until > now)
    failures = None if returned is None else (threshold if locked_now else returned.failed_count)
    return failures, locked_now


def _count_failure(
    s: Session,
    row: Row[Any],
    serial: str,
    actor: Principal,
    settings: TenantSettings,
    now: datetime,
    lockout: RedisLockout | None = None,
) -> None:
    """Count one wrong password in the store; record, and lock at the threshold."""
    threshold = settings.lockout_threshold
    until = now + timedelta(minutes=settings.lockout_minutes)
    if lockout is not None:
        counted = lockout.failure(row.id, threshold, settings.lockout_minutes * 60)
        failures, locked_now = (
            (None, False) if counted < 0 else (counted or threshold, counted == 0)
        )
        if locked_now:  # mirror the lock for admins and the console
            s.execute(
                update(User).where(User.id == row.id).values(locked_until=until, failed_count=0)
            )
    else:
        failures, locked_now = count_and_lock(s, User, row.id, threshold, until, now)
    target = ("user", str(row.id))
    if failures is None:  # already locked by a concurrent attempt: not counted
        audit.record(
            s,
            actor,
            "auth.login",
            *target,
            result=audit.DENIED,
            detail={"reason": "locked"},
            tenant_id=row.tenant_id,
        )
        return
    audit.record(
        s,
        actor,
        "auth.login",
        *target,
        result=audit.DENIED,
        detail={"reason": "bad_password", "failures": failures},
        tenant_id=row.tenant_id,
    )
    if locked_now:
        revoke_sessions(s, row.id, now)
        audit.record(
            s,
            actor,
            "auth.lock",
            *target,
            tenant_id=row.tenant_id,
            detail={"failures": threshold, "minutes": settings.lockout_minutes},
        )
        _notify_lock(s, row, serial, until)


_DEFAULT_IDLE_MINUTES = TenantSettings.model_fields["session_idle_minutes"].default
# Built once: this runs on every cookie-authenticated request.
_SESSION_LOOKUP = (
    select(
        UserSession.id,
        UserSession.csrf_hash,
        UserSession.cert_fingerprint,
        UserSession.last_seen_at,
        UserSession.absolute_expires_at,
        UserSession.revoked_at,
        User.id.label("user_id"),
        User.display_name,
        User.roles,
        User.status,
        User.tenant_id,
        User.totp_enabled,
        Tenant.status.label("tenant_status"),
        Tenant.settings.label("tenant_settings"),
    )
    .join(User, User.id == UserSession.user_id)
    .join(Tenant, Tenant.id == User.tenant_id)
    .where(UserSession.session_hash == bindparam("digest"))
)


def _notify_lock(s: Session, row: Row[Any], serial: str, until: datetime) -> None:
    """Tell the tenant's security contacts and admins, through the outbox (IAM-3)."""
    tenant = s.get(Tenant, row.tenant_id)
    if tenant is None:
        return
    recipients = security_recipients(s, tenant)
    body = (
        f"{tenant.name} ご担当者様\n\n"
        "次のアカウントが、パスワードの連続誤入力によりロックされました。\n"
        f"  シリアル番号: {serial}\n  氏名: {row.display_name}\n"
        f"  自動解除: {to_jst(until):%Y-%m-%d %H:%M} (日本時間)\n\n"
        "お心当たりがない場合は不正ログインの試みの可能性があります。"
        "テナント管理者はロックをすぐに解除することもできます。\n\n"
        "---\n"
        f"The account {serial} ({row.display_name}) was locked after repeated wrong "
        f"passwords. It unlocks by itself at {iso(until)}; a tenant admin can unlock it now.\n"
    )
    mail.enqueue(
        s,
        recipients,
        "【Hokan】アカウントがロックされました / Account locked",
        body,
        "auth.lock",
        row.tenant_id,
    )


def check_binding(
    cert_fingerprint: str, csrf_hash: str, method: str, csrf_token: str | None
) -> None:
    """A session is used from the terminal that opened it, and writes carry its CSRF token."""
    if not crypto.constant_time_equals(cert_fingerprint, cert_fingerprint_var.get()):
        raise SessionCertificateMismatch
    if method in UNSAFE_METHODS and (
        not csrf_token
        or not crypto.constant_time_equals(crypto.sha256_hex(csrf_token.encode()), csrf_hash)
    ):
        raise CsrfFailed


def authenticate(db: Database, token: str, method: str, csrf_token: str | None) -> Principal:
    """Resolve a session cookie to its user, enforcing timeouts, certificate and CSRF."""
    digest = crypto.sha256_hex(token.encode())
    now = utcnow()
    with db.reader(system=True) as conn:
        row = conn.execute(_SESSION_LOOKUP, {"digest": digest}).one_or_none()
    if row is None or row.revoked_at is not None:
        raise SessionExpired
    if row.status is not UserStatus.active or row.tenant_status is not TenantStatus.active:
        raise SessionExpired
    idle = (row.tenant_settings or {}).get("session_idle_minutes", _DEFAULT_IDLE_MINUTES)
    idle_deadline = row.last_seen_at + timedelta(minutes=int(idle))
    if now >= row.absolute_expires_at or now >= idle_deadline:
        with db.session(write=True, system=True) as s:
            s.execute(update(UserSession).where(UserSession.id == row.id).values(revoked_at=now))
        raise SessionExpired
    check_binding(row.cert_fingerprint, row.csrf_hash, method, csrf_token)
    if now - row.last_seen_at > _LAST_SEEN_GRANULARITY:
        with db.session(write=True, system=True) as s:
            s.execute(
                update(UserSession)
                .where(and_(UserSession.id == row.id, UserSession.revoked_at.is_(None)))
                .values(last_seen_at=now)
            )
    return user_principal(
        row.user_id,
        row.display_name,
        row.tenant_id,
        list(row.roles),
        mfa_satisfied(row.tenant_settings, row.totp_enabled),
    )


def logout(db: Database, token: str) -> None:
    with db.session(write=True, system=True) as s:
        s.execute(
            update(UserSession)
            .where(UserSession.session_hash == crypto.sha256_hex(token.encode()))
            .values(revoked_at=utcnow())
        )
