"""What a tenant's users do with their own account, and what tenant admins do with
their users' accounts (IAM-1, IAM-3, IAM-5, IAM-7): the identity routes' service.

Each method runs in the caller's unit of work, declares its audited action and
writes its own success entry; the unit of work audits a failure.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from hokan.audit.actions import action, succeeded
from hokan.identity import inventory, mfa, sessions, users
from hokan.identity.errors import InvalidCredentials
from hokan.identity.lockout import RedisLockout
from hokan.identity.passwords import Passwords, WeakPassword, check_policy, normalise
from hokan.keyring.service import Keyring
from hokan.kit.actions import declare
from hokan.kit.clock import utcnow
from hokan.kit.crypto import constant_time_equals
from hokan.kit.errors import Forbidden
from hokan.models import AccountReview, Tenant, User, UserStatus
from hokan.principals.principal import Principal, PrincipalKind
from hokan.tenants.schemas import TenantSettings


def _own_user(s: Session, principal: Principal, what: str) -> User:
    if principal.kind is not PrincipalKind.user:
        raise Forbidden(f"only a logged-in user has {what}")
    user = s.get(User, uuid.UUID(principal.id))
    if user is None:
        raise Forbidden
    return user


def _tenant(s: Session, principal: Principal) -> Tenant:
    tenant = s.get(Tenant, principal.tenant_id) if principal.tenant_id else None
    if tenant is None:
        raise Forbidden
    return tenant


def _tenant_id(principal: Principal) -> uuid.UUID:
    if principal.tenant_id is None:
        raise Forbidden
    return principal.tenant_id


def _serial(serial: str, *_: Any, **__: Any) -> str:
    return serial[:20]


class Accounts:
    def __init__(
        self, passwords: Passwords, keyring: Keyring, lockout: RedisLockout | None
    ) -> None:
        self.passwords = passwords
        self.keyring = keyring
        self.lockout = lockout

    # -- one's own account ------------------------------------------------------

    @action("auth.logout", "session")
    def logout(self, s: Session, principal: Principal, token: str | None) -> None:
        if token:
            sessions.end_session(s, token)
        succeeded(s, principal)

    def change_password(self, s: Session, principal: Principal, current: str, new: str) -> None:
        """Every session of the user ends; they log in again with the new password.

        The one thing a session that must change its password may do (ADR 0019):
        a new password, other than the current one, lifts the requirement.
        """
        declare(s, "auth.password_change", "user", principal.id)
        if principal.kind is not PrincipalKind.user:
            raise Forbidden("only a logged-in user has a password")
        user = s.get(User, uuid.UUID(principal.id))
        if user is None or not self.passwords.verify(user.password_hash, current):
            raise InvalidCredentials
        tenant = s.get(Tenant, user.tenant_id)
        tenant_settings = TenantSettings.model_validate(tenant.settings if tenant else {})
        value = check_policy(
            new, tenant_settings.password_min_length, (user.serial, user.display_name)
        )
        if constant_time_equals(value, normalise(current)):
            raise WeakPassword("unchanged")
        user.password_hash = self.passwords.hash(value)
        user.password_changed_at = utcnow()
        user.password_change_required = False
        sessions.revoke_sessions(s, user.id, utcnow())
        succeeded(s, principal, target_id=str(user.id))

    def totp_setup(self, s: Session, principal: Principal) -> tuple[str, str]:
        """A new TOTP secret and its ``otpauth://`` URI (shown once)."""
        declare(s, "auth.totp_setup", "user", principal.id)
        secret, uri = mfa.begin(s, self.keyring, _own_user(s, principal, "a second factor"))
        succeeded(s, principal)
        return secret, uri

    def totp_enable(self, s: Session, principal: Principal, code: str) -> list[str]:
        """Turn TOTP on with a first code; the recovery codes (shown once). Other sessions end."""
        declare(s, "auth.totp_enable", "user", principal.id)
        user = _own_user(s, principal, "a second factor")
        codes = mfa.enable(s, self.keyring, user, code)
        sessions.revoke_sessions(s, user.id, utcnow())
        succeeded(s, principal)
        return codes

    # -- the tenant admin's -------------------------------------------------------

    @action("user.list", "user", "*")
    def list_users(self, s: Session, principal: Principal) -> list[User]:
        rows = users.for_tenant(s, _tenant_id(principal))
        succeeded(s, principal, detail={"count": len(rows)})
        return rows

    @action("auth.unlock", "user", _serial)
    def unlock(self, s: Session, principal: Principal, serial: str) -> User:
        """Lift a lockout before it runs out (IAM-3); ``users.unlock`` records it."""
        user = users.unlock(s, _tenant_id(principal), serial, principal, self.lockout)
        s.refresh(user)
        return user

    @action("user.require_password_change", "user", _serial)
    def require_password_change(self, s: Session, principal: Principal, serial: str) -> User:
        """The user changes their password before anything else; their open sessions
        are restricted at once (``users.require_password_change`` records it)."""
        user = users.require_password_change(s, _tenant_id(principal), serial, principal)
        s.refresh(user)
        return user

    @action("accounts.inventory", "tenant")
    def take_inventory(self, s: Session, principal: Principal) -> list[inventory.Account]:
        accounts = inventory.inventory(s, _tenant(s, principal))
        succeeded(s, principal, detail={"count": len(accounts)})
        return accounts

    @action("accounts.review", "tenant")
    def review(self, s: Session, principal: Principal, review: inventory.ReviewIn) -> AccountReview:
        """Record an inventory review (``inventory.record_review`` records it)."""
        return inventory.record_review(s, _tenant(s, principal), principal, review)

    @action("accounts.disable_dormant", "tenant")
    def disable_dormant(self, s: Session, principal: Principal) -> list[str]:
        """Disable dormant users, revoke dormant tokens (``inventory`` records it)."""
        return inventory.disable_dormant(s, _tenant(s, principal), principal)

    @action("user.create", "user")
    def create_user(
        self,
        s: Session,
        principal: Principal,
        *,
        name: str,
        email: str,
        roles: list[str],
        password: str | None,
    ) -> tuple[User, str | None]:
        """Create a user of the admin's tenant (``users.create`` records it); the
        generated password, when none was given, is returned once."""
        return users.create(
            s,
            self.passwords,
            _tenant(s, principal),
            name=name,
            email=email,
            roles=roles,
            password=password,
            actor=principal,
        )

    @action("user.status", "user", _serial)
    def set_status(self, s: Session, principal: Principal, serial: str, active: bool) -> User:
        """Disable (sessions end) or enable a user (``users.set_status`` records it)."""
        status = UserStatus.active if active else UserStatus.disabled
        user = users.set_status(s, _tenant_id(principal), serial, status, principal)
        s.refresh(user)
        return user

    @action("user.roles", "user", _serial)
    def set_roles(
        self,
        s: Session,
        principal: Principal,
        serial: str,
        roles: list[str],
        expected: list[str] | None = None,
    ) -> User:
        """Replace a user's roles (``users.set_roles`` records it); ``expected`` guards
        against a stale form."""
        user = users.set_roles(s, _tenant_id(principal), serial, roles, principal, expected)
        s.refresh(user)
        return user

    @action("user.reset_password", "user", _serial)
    def reset_password(self, s: Session, principal: Principal, serial: str) -> tuple[User, str]:
        """A generated password shown once; the user changes it at the next login."""
        user, password = users.reset_password(
            s, self.passwords, _tenant(s, principal), serial, principal
        )
        s.refresh(user)
        return user, password
