"""Tenant API tokens: 256-bit random secrets, shown once, stored as SHA-256.

Format: ``hk_<8 base32 chars>_<43 url-safe base64 chars>``. The first part is
the public prefix used for lookup and shown in listings; the whole string is
hashed and compared in constant time.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.actions import action, succeeded
from hokan.identity.credential_cache import CachedCredential, CredentialCache
from hokan.identity.errors import InvalidScope, InvalidToken, TokenNotFound
from hokan.identity.repository import TokenRepository, credentials
from hokan.kit import crypto
from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.kit.errors import Forbidden, HokanError
from hokan.models import ApiToken, TenantStatus, UserStatus
from hokan.principals.errors import InsufficientScope
from hokan.principals.principal import ALL_TOKEN_SCOPES, Principal, PrincipalKind
from hokan.principals.roles import permissions_of
from hokan.tenants.errors import TenantInactive

TOKEN_PREFIX = "hk_"  # noqa: S105  (a public marker, not a secret)
_LAST_USED_GRANULARITY = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the only time the plaintext exists outside the caller's hands


def _new_secret() -> tuple[str, str]:
    prefix = TOKEN_PREFIX + base64.b32encode(secrets.token_bytes(5)).decode().lower()
    body = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return prefix, f"{prefix}_{body}"


def _split(raw: str) -> str | None:
    """The public prefix of a well-formed token, else None."""
    cut = len(TOKEN_PREFIX) + 8
    if len(raw) != cut + 1 + 43 or not raw.startswith(TOKEN_PREFIX) or raw[cut] != "_":
        return None
    return raw[:cut]


def public_prefix(raw: str) -> str:
    """The shown part of a presented token, or "" if it is not shaped like one."""
    return _split(raw) or ""


def validate_scopes(scopes: Iterable[str]) -> list[str]:
    wanted = sorted(set(scopes))
    unknown = [s for s in wanted if s not in ALL_TOKEN_SCOPES]
    if unknown or not wanted:
        raise InvalidScope(f"known scopes: {', '.join(sorted(ALL_TOKEN_SCOPES))}")
    return wanted


def issue(
    session: Session,
    tenant_id: uuid.UUID,
    name: str,
    *,
    scopes: Iterable[str],
    days: int,
    actor: Principal,
    user_id: uuid.UUID | None = None,
) -> IssuedToken:
    """Issue a token; with ``user_id`` a personal token that acts for (and dies with) its user."""
    prefix, secret = _new_secret()
    token = TokenRepository(session).add(
        ApiToken(
            tenant_id=tenant_id,
            prefix=prefix,
            token_hash=crypto.sha256_hex(secret.encode()),
            name=name,
            scopes=validate_scopes(scopes),
            expires_at=utcnow() + timedelta(days=days),
            user_id=user_id,
        )
    )
    audit.record(
        session,
        actor,
        "token.create",
        "token",
        prefix,
        detail={"scopes": token.scopes, "days": days, "personal": user_id is not None},
        tenant_id=tenant_id,
    )
    return IssuedToken(token, secret)


def revoke(
    session: Session,
    tenant_id: uuid.UUID,
    ref: str,
    actor: Principal,
    user_id: uuid.UUID | None = None,
) -> ApiToken:
    """Revoke a tenant token; with ``user_id`` only one of that user's own."""
    token = TokenRepository(session).find(tenant_id, ref, user_id)
    if token is None:
        raise TokenNotFound
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor, "token.revoke", "token", token.prefix, tenant_id=tenant_id)
    return token


def authenticate(db: Database, raw: str, cache: CredentialCache | None = None) -> Principal:
    """Resolve a presented token to its principal, or raise :class:`InvalidToken`.

    With ``cache``, a token that authenticated recently is not looked up again
    (revocations reach the cache within ``HOKAN_AUTH_CACHE_SECONDS``; ADR 0027).
    """
    prefix = _split(raw)
    if prefix is None:
        raise InvalidToken
    presented = crypto.sha256_hex(raw.encode())
    cached = cache.get(presented) if cache is not None else None
    if cached is not None:
        # The key is the digest of the whole token: a hit is an exact match.
        return _principal(db, cached.row, cached)
    generation = cache.generation() if cache is not None else None
    # System scope: the token itself names its tenant, so the lookup precedes scoping.
    with db.reader(system=True) as conn:
        row = credentials(conn, prefix)
    # Hash and compare even when nothing was found, so timing tells nothing.
    stored = row.token_hash if row is not None else "0" * 64
    if not crypto.constant_time_equals(presented, stored) or row is None:
        raise InvalidToken
    entry = cache.put(presented, row, generation) if cache is not None else None
    try:
        return _principal(db, row, entry)
    except HokanError:
        if cache is not None:
            cache.drop(presented)  # never keep a refused credential
        raise


def _principal(db: Database, row: Any, cached: CachedCredential | None) -> Principal:
    """The principal of a credential row whose secret matched; refused if no longer valid."""
    now = utcnow()
    if row.revoked_at is not None or row.expires_at <= now:
        raise InvalidToken
    if row.tenant_status not in (TenantStatus.active, TenantStatus.terminated):
        raise TenantInactive
    scopes = frozenset(row.scopes)
    if row.user_id is not None:
        # A personal token dies with its user and never exceeds the user's current roles.
        if row.user_status is not UserStatus.active:
            raise InvalidToken
        scopes &= permissions_of(row.user_roles or [])
    last_used = cached.last_used_at if cached is not None else row.last_used_at
    if last_used is None or now - last_used > _LAST_USED_GRANULARITY:
        with db.session(write=True, system=True) as session:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        if cached is not None:
            cached.last_used_at = now
    return Principal(
        kind=PrincipalKind.token,
        id=str(row.id),
        display_name=row.name,
        tenant_id=row.tenant_id,
        scopes=scopes,
        for_user=str(row.user_id) if row.user_id is not None else None,
        # Export only, until disposal: refused elsewhere by httpkit.auth.admitted.
        tenant_terminated=row.tenant_status is TenantStatus.terminated,
    )


def _personal(principal: Principal) -> tuple[uuid.UUID, uuid.UUID]:
    if principal.kind is not PrincipalKind.user or principal.tenant_id is None:
        raise Forbidden("personal tokens are issued by a logged-in user")
    return principal.tenant_id, uuid.UUID(principal.id)


def _ref(ref: str, *_: object, **__: object) -> str:
    return ref[:20]


class PersonalTokens:
    """A user's own API tokens (IAM-5): scoped, expiring, acting for (and dying with) them."""

    def __init__(self, default_days: int) -> None:
        self.default_days = default_days

    @action("token.create", "token")
    def issue(
        self,
        s: Session,
        principal: Principal,
        name: str,
        scopes: Iterable[str],
        *,
        days: int | None = None,
    ) -> IssuedToken:
        """At most the user's own permissions; ``issue`` records it."""
        tenant_id, user_id = _personal(principal)
        wanted = validate_scopes(scopes)
        if not set(wanted) <= principal.scopes:
            raise InsufficientScope("a token cannot hold more than your own permissions")
        return issue(
            s,
            tenant_id,
            name,
            scopes=wanted,
            days=days or self.default_days,
            actor=principal,
            user_id=user_id,
        )

    @action("token.list", "token", "*")
    def list_tokens(self, s: Session, principal: Principal) -> list[ApiToken]:
        tenant_id, user_id = _personal(principal)
        rows = TokenRepository(s).of_user(tenant_id, user_id)
        succeeded(s, principal)
        return rows

    @action("token.revoke", "token", _ref)
    def revoke(self, s: Session, principal: Principal, ref: str) -> ApiToken:
        """``revoke`` records it (once: revoking a revoked token changes nothing)."""
        tenant_id, user_id = _personal(principal)
        return revoke(s, tenant_id, ref, principal, user_id)
