"""Tenant users (IAM-1): creation with a serial and a policy-checked password, listing,
unlocking, forcing a password change and disabling. Every change is audited on the
tenant's chain."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable

from sqlalchemy import Select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.identity import repository, serials
from hokan.identity.errors import StaleForm, UserNotFound, check_email
from hokan.identity.lockout import RedisLockout
from hokan.identity.passwords import Passwords, check_policy
from hokan.identity.sessions import revoke_sessions
from hokan.kit.clock import utcnow
from hokan.models import Tenant, User, UserStatus
from hokan.principals.principal import Principal
from hokan.principals.roles import TENANT_ROLES, validate_roles
from hokan.tenants.schemas import TenantSettings


def _scoped(tenant_id: uuid.UUID) -> Select[User]:
    return repository.scoped(User, tenant_id)


def _tenant_roles(roles: Iterable[str]) -> list[str]:
    return validate_roles(roles, TENANT_ROLES)


def create(
    session: Session,
    passwords: Passwords,
    tenant: Tenant,
    *,
    name: str,
    email: str,
    roles: Iterable[str],
    password: str | None,
    actor: Principal,
) -> tuple[User, str | None]:
    """Create a user; returns it and, when no password was given, a generated one (shown once).

    The user must change the password at first login (ADR 0019): whoever created
    the account chose or saw it.
    """
    role_values = _tenant_roles(roles)
    check_email(email)
    settings = TenantSettings.model_validate(tenant.settings or {})
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(18)
    for _ in range(5):
        serial = serials.new_serial()
        value = check_policy(password, settings.password_min_length, (serial, tenant.code, name))
        user = User(
            tenant_id=tenant.id,
            serial=serial,
            display_name=name,
            email=email,
            roles=role_values,
            password_hash=passwords.hash(value),
            # Someone else chose (or saw) this password: the user changes it first.
            password_change_required=True,
        )
        try:
            with session.begin_nested():
                session.add(user)
        except IntegrityError:  # a serial collision: draw again
            continue
        audit.record(
            session,
            actor,
            "user.create",
            "user",
            str(user.id),
            detail={"roles": role_values},
            tenant_id=tenant.id,
        )
        return user, generated
    raise RuntimeError("could not draw a free serial number")


def for_tenant(session: Session, tenant_id: uuid.UUID) -> list[User]:
    return list(session.scalars(_scoped(tenant_id).order_by(User.created_at)))


def by_serial(session: Session, tenant_id: uuid.UUID, serial: str) -> User:
    user = session.scalars(
        _scoped(tenant_id).where(User.serial == serials.normalise(serial))
    ).one_or_none()
    if user is None:
        raise UserNotFound
    return user


def unlock(
    session: Session,
    tenant_id: uuid.UUID,
    serial: str,
    actor: Principal,
    lockout: RedisLockout | None = None,
) -> User:
    user = by_serial(session, tenant_id, serial)
    if lockout is not None:
        lockout.unlock(user.id)
    session.execute(
        update(User).where(User.id == user.id).values(locked_until=None, failed_count=0)
    )
    audit.record(
        session,
        actor,
        "auth.unlock",
        "user",
        str(user.id),
        detail={"reason": "admin"},
        tenant_id=tenant_id,
    )
    return user


def require_password_change(
    session: Session, tenant_id: uuid.UUID, serial: str, actor: Principal
) -> User:
    """The user must change their password before doing anything else (ADR 0019).

    Their open sessions are restricted at once (a session reads the flag on every
    request); tokens are unaffected.
    """
    user = by_serial(session, tenant_id, serial)
    session.execute(update(User).where(User.id == user.id).values(password_change_required=True))
    audit.record(
        session,
        actor,
        "user.require_password_change",
        "user",
        str(user.id),
        tenant_id=tenant_id,
    )
    return user


def set_status(
    session: Session, tenant_id: uuid.UUID, serial: str, status: UserStatus, actor: Principal
) -> User:
    user = by_serial(session, tenant_id, serial)
    session.execute(update(User).where(User.id == user.id).values(status=status))
    if status is UserStatus.disabled:
        revoke_sessions(session, user.id, utcnow())
    audit.record(
        session,
        actor,
        f"user.{'disable' if status is UserStatus.disabled else 'enable'}",
        "user",
        str(user.id),
        tenant_id=tenant_id,
    )
    return user


def set_roles(
    session: Session,
    tenant_id: uuid.UUID,
    serial: str,
    roles: Iterable[str],
    actor: Principal,
    expected: Iterable[str] | None = None,
) -> User:
    """Replace a user's roles; the user's open sessions end (their permissions changed).
    ``expected``: the roles the form showed; if someone changed them since, refused."""
    user = by_serial(session, tenant_id, serial)  # another tenant's user: not found, first
    role_values = _tenant_roles(roles)
    before = list(user.roles)
    if expected is not None and sorted(set(expected)) != sorted(before):
        raise StaleForm
    session.execute(update(User).where(User.id == user.id).values(roles=role_values))
    revoke_sessions(session, user.id, utcnow())
    audit.record(
        session,
        actor,
        "user.roles",
        "user",
        str(user.id),
        detail={"before": before, "after": role_values},
        tenant_id=tenant_id,
    )
    return user


def reset_password(
    session: Session, passwords: Passwords, tenant: Tenant, serial: str, actor: Principal
) -> tuple[User, str]:
    """A new generated password (shown once to the admin); the user must change it at
    the next login (ADR 0019), their sessions end and a lockout is lifted."""
    user = by_serial(session, tenant.id, serial)
    settings = TenantSettings.model_validate(tenant.settings or {})
    password = secrets.token_urlsafe(18)
    value = check_policy(password, settings.password_min_length, (user.serial, tenant.code))
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            password_hash=passwords.hash(value),
            password_change_required=True,
            locked_until=None,
            failed_count=0,
        )
    )
    revoke_sessions(session, user.id, utcnow())
    audit.record(session, actor, "user.reset_password", "user", str(user.id), tenant_id=tenant.id)
    return user, password
