"""One-time password setup links (LIFE-1): a new user chooses the first password.

The token is 32 random bytes, shown only in the welcome mail; only its SHA-256 is
kept, it expires after ``HOKAN_PASSWORD_SETUP_HOURS`` and works once.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.identity.passwords import Passwords, check_policy
from hokan.kit import crypto
from hokan.kit.clock import utcnow
from hokan.lifecycle.errors import SetupLinkInvalid
from hokan.models import PasswordSetupToken, Tenant, TenantStatus, User, UserStatus
from hokan.principals.principal import Principal, PrincipalKind
from hokan.tenants.schemas import TenantSettings

PREFIX = "hps_"


def issue(s: Session, user: User, hours: int) -> str:
    """A new one-time token for ``user`` (the caller mails it; it is never stored)."""
    token = PREFIX + secrets.token_urlsafe(32)
    s.add(
        PasswordSetupToken(
            tenant_id=user.tenant_id,
            user_id=user.id,
            token_hash=crypto.sha256_hex(token.encode()),
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    s.flush()
    return token


def consume(s: Session, passwords: Passwords, token: str, password: str) -> User:
    """Set the user's password with a valid token and use the token up."""
    digest = crypto.sha256_hex(token.strip().encode())
    row = s.scalars(
        select(PasswordSetupToken).where(PasswordSetupToken.token_hash == digest)
    ).one_or_none()
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise SetupLinkInvalid
    user = s.get(User, row.user_id)
    tenant = s.get(Tenant, row.tenant_id)
    if (
        user is None
        or tenant is None
        or user.status is not UserStatus.active
        or tenant.status is not TenantStatus.active
    ):
        raise SetupLinkInvalid
    rules = TenantSettings.model_validate(tenant.settings or {})
    value = check_policy(
        password, rules.password_min_length, (user.serial, tenant.code, user.display_name)
    )
    user.password_hash = passwords.hash(value)
    user.password_changed_at = now
    user.password_change_required = False
    row.used_at = now
    s.flush()
    actor = Principal(PrincipalKind.user, str(user.id), user.display_name, tenant.id)
    audit.record(s, actor, "user.password_setup", "user", str(user.id), tenant_id=tenant.id)
    return user
