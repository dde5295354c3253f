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

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NoReturn

from sqlalchemy import Row, and_, case, or_, update
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.context import cert_fingerprint_var, source_ip_var
from hokan.identity import login_decision, mfa, repository, serials
from hokan.identity.errors import (
    CsrfFailed,
    InvalidCredentials,
    SessionCertificateMismatch,
    SessionExpired,
)
from hokan.identity.lockout import RedisLockout
from hokan.identity.login_decision import Attempt, Checked
from hokan.identity.passwords import Passwords
from hokan.identity.spraying import SprayingDetector
from hokan.keyring.service import Keyring
from hokan.kit import crypto, metrics
from hokan.kit.clock import iso, to_jst, utcnow
from hokan.kit.db import Database
from hokan.models import Operator, Tenant, TenantStatus, User, UserSession, UserStatus
from hokan.principals.principal import ANONYMOUS, Principal, PrincipalKind
from hokan.principals.roles import permissions_of
from hokan.tenants.notices import notify
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


# A terminated tenant's users still log in, to export their data until its disposal.
_OPEN = (TenantStatus.active, TenantStatus.terminated)


def user_principal(
    user_id: uuid.UUID,
    name: str,
    tenant_id: uuid.UUID,
    roles: list[str],
    mfa_ok: bool = True,
    *,
    password_change_required: bool = False,
    tenant_terminated: bool = False,
) -> Principal:
    """A user's principal; without a required second factor it may only set one up,
    with a password someone else set only change it (ADR 0019)."""
    return Principal(
        kind=PrincipalKind.user,
        id=str(user_id),
        display_name=name,
        tenant_id=tenant_id,
        scopes=permissions_of(roles) if mfa_ok else frozenset(),
        roles=frozenset(roles),
        password_change_required=password_change_required,
        tenant_terminated=tenant_terminated,
    )


def mfa_satisfied(tenant_settings: dict[str, Any] | None, totp_enabled: bool) -> bool:
    return bool(totp_enabled) or not (tenant_settings or {}).get("mfa_required", False)


def _account(db: Database, serial: str) -> Row[*tuple[Any, ...]] | None:
    with db.reader(system=True) as conn:
        return conn.execute(repository.ACCOUNT_BY_SERIAL, {"serial": serial}).one_or_none()


def revoke_sessions(session: Session, user_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


@dataclass(frozen=True)
class LoginOutcome:
    result: LoginResult | None  # None: refused (and recorded)
    spraying: int | None = None  # serials tried, when this refusal raised the alarm


def check(db: Database, passwords: Passwords, serial_text: str, password: str) -> Checked:
    serial = serials.normalise(serial_text)
    row = _account(db, serial) if serials.is_valid(serial) else None
    # Always one Argon2id verification, found or not, so timing tells nothing.
    password_ok = passwords.verify(row.password_hash if row else None, password)
    return Checked(serial, row, password_ok, password)


def decide(
    s: Session,
    checked: Checked,
    *,
    passwords: Passwords,
    otp: str | None = None,
    keyring: Keyring | None = None,
    lockout: RedisLockout | None = None,
    spraying: SprayingDetector | None = None,
) -> LoginOutcome:
    """Decide a checked login in ``s`` (system scope); every refusal is recorded there."""
    serial, row = checked.serial, checked.row
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
        result = None
    else:
        result = _decide_user(
            s, checked, row, passwords=passwords, otp=otp, keyring=keyring, lockout=lockout
        )
    if result is not None:
        return LoginOutcome(result)
    tried = spraying.failure(source_ip_var.get(), serial) if spraying else None
    if tried is not None:
        metrics.SPRAYING_ALERTS.labels("user").inc()
        audit.record(
            s,
            ANONYMOUS,
            "auth.spraying_suspected",
            "source_ip",
            source_ip_var.get(),
            result=audit.DENIED,
            detail={"serials": tried},
        )
    return LoginOutcome(None, tried)


def refuse(outcome: LoginOutcome, spraying: SprayingDetector | None = None) -> NoReturn:
    """After a refusal committed: hand a spraying alarm to the IPS, then raise the one
    answer every refusal gets."""
    if outcome.spraying is not None and spraying is not None:
        spraying.alarm(source_ip_var.get(), outcome.spraying)
    raise InvalidCredentials


def login(
    db: Database,
    passwords: Passwords,
    serial_text: str,
    *,
    password: str,
    spraying: SprayingDetector | None = None,
    lockout: RedisLockout | None = None,
    otp: str | None = None,
    keyring: Keyring | None = None,
) -> LoginResult:
    """Check a serial and password; open a session or raise :class:`InvalidCredentials`.

    (The HTTP route runs the same steps, the decision in its unit of work.)
    """
    checked = check(db, passwords, serial_text, password)
    with db.session(write=True, system=True) as s:
        outcome = decide(
            s,
            checked,
            passwords=passwords,
            otp=otp,
            keyring=keyring,
            lockout=lockout,
            spraying=spraying,
        )
    if outcome.result is None:
        refuse(outcome, spraying)
    return outcome.result


def _refusal(row: Row[Any], now: datetime, lockout: RedisLockout | None) -> str | None:
    if row.status is not UserStatus.active:
        return "disabled"
    if row.tenant_status not in _OPEN:  # terminated: may log in to export (LIFE-2)
        return "tenant_inactive"
    if (row.locked_until is not None and row.locked_until > now) or (
        lockout is not None and lockout.locked(row.id)
    ):
        return "locked"
    return None


def _decide_user(
    s: Session,
    checked: Checked,
    row: Row[Any],
    *,
    passwords: Passwords,
    otp: str | None,
    keyring: Keyring | None,
    lockout: RedisLockout | None,
) -> LoginResult | None:
    now = utcnow()
    settings = TenantSettings.model_validate(row.tenant_settings or {})
    actor = user_principal(
        row.id,
        row.display_name,
        row.tenant_id,
        list(row.roles),
        mfa_satisfied(row.tenant_settings, row.totp_enabled),
        password_change_required=bool(row.password_change_required),
    )
    attempt = Attempt(
        User,
        row.id,
        row.tenant_id,
        actor,
        row.password_hash,
        action="auth.login",
        target_type="user",
        lock_action="auth.lock",
        bad_reason="bad_password",
    )
    refused = _refusal(row, now, lockout)
    if refused is None and row.locked_until is not None:  # the lock ran out since
        _lift_expired_lock(s, row, actor)
    opened = login_decision.decide(
        s,
        attempt,
        refused=refused,
        password_ok=checked.password_ok,
        second_factor=partial(_second_factor, s, keyring, row, otp),
        count_failure=partial(_count_failure, s, row, checked.serial, attempt, settings, lockout),
        passwords=passwords,
        password=checked.password,
        now=now,
    )
    if opened is None:
        return None
    if lockout is not None:
        lockout.success(row.id)
    absolute = now + timedelta(hours=settings.session_absolute_hours)
    s.add(
        UserSession(
            tenant_id=row.tenant_id,
            user_id=row.id,
            session_hash=opened.session_hash,
            csrf_hash=opened.csrf_hash,
            cert_fingerprint=opened.cert_fingerprint,
            created_at=now,
            last_seen_at=now,
            absolute_expires_at=absolute,
        )
    )
    return LoginResult(actor, opened.session_token, opened.csrf_token, absolute)


def _lift_expired_lock(s: Session, row: Row[Any], actor: Principal) -> None:
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


def _second_factor(s: Session, keyring: Keyring | None, row: Row[Any], otp: str | None) -> bool:
    """The TOTP (or a recovery) code, when the user has turned the second factor on."""
    if not row.totp_enabled:
        return True
    user = s.get(User, row.id)
    return bool(user and keyring and mfa.check(s, keyring, user, otp))


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
    attempt: Attempt,
    settings: TenantSettings,
    lockout: RedisLockout | None = None,
) -> None:
    """Count one wrong password in the store; record, and lock at the threshold."""
    now = utcnow()
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
    attempt.failed(
        s,
        failures,
        locked_now=locked_now,
        threshold=threshold,
        minutes=settings.lockout_minutes,
        revoke=lambda: revoke_sessions(s, row.id, now),
    )
    if locked_now:
        _notify_lock(s, row, serial, until)


_DEFAULT_IDLE_MINUTES = TenantSettings.model_fields["session_idle_minutes"].default
# Built once: this runs on every cookie-authenticated request.
_SESSION_LOOKUP = repository.SESSION_LOOKUP


def _notify_lock(s: Session, row: Row[Any], serial: str, until: datetime) -> None:
    """Tell the tenant's security contacts and admins, through the outbox (IAM-3)."""
    tenant = s.get(Tenant, row.tenant_id)
    if tenant is None:
        return
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
    notify(
        s,
        "auth.lock",
        tenant=tenant,
        subject="【Hokan】アカウントがロックされました / Account locked",
        body=body,
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
    if row.status is not UserStatus.active or row.tenant_status not in _OPEN:
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
        password_change_required=bool(row.password_change_required),
        tenant_terminated=row.tenant_status is TenantStatus.terminated,
    )


def end_session(s: Session, token: str) -> None:
    """Revoke the session whose cookie is ``token`` (nothing if there is none)."""
    s.execute(
        update(UserSession)
        .where(UserSession.session_hash == crypto.sha256_hex(token.encode()))
        .values(revoked_at=utcnow())
    )


def logout(db: Database, token: str) -> None:
    with db.session(write=True, system=True) as s:
        end_session(s, token)
