"""API token rows; tenant-scoped except the lookup by public prefix at login."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, select
from sqlalchemy.orm import Session

from hokan.kit.db import tenant_scoped
from hokan.models import ApiToken, Tenant, User, UserSession

# Built once: constructing a statement costs more than running it on SQLite.
_CREDENTIALS = (
    select(
        ApiToken.id,
        ApiToken.token_hash,
        ApiToken.name,
        ApiToken.scopes,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        ApiToken.user_id,
        User.roles.label("user_roles"),
        User.status.label("user_status"),
        Tenant.id.label("tenant_id"),
        Tenant.status.label("tenant_status"),
    )
    .join(Tenant, Tenant.id == ApiToken.tenant_id)
    .outerjoin(User, User.id == ApiToken.user_id)
    .where(ApiToken.prefix == bindparam("prefix"))
)


def credentials(conn: Connection, prefix: str) -> Row[*tuple[Any, ...]] | None:
    """What authentication needs about a token and its tenant, in one plain row.

    Authentication has no tenant yet: the token itself names it. Runs on every
    request, hence Core and a prebuilt statement.
    """
    return conn.execute(_CREDENTIALS, {"prefix": prefix}).one_or_none()


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _scoped(self, tenant_id: uuid.UUID) -> Select[ApiToken]:
        return tenant_scoped(select(ApiToken), ApiToken, tenant_id)

    def for_tenant(self, tenant_id: uuid.UUID) -> list[ApiToken]:
        return list(self.session.scalars(self._scoped(tenant_id).order_by(ApiToken.created_at)))

    def of_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[ApiToken]:
        stmt = self._scoped(tenant_id).where(ApiToken.user_id == user_id)
        return list(self.session.scalars(stmt.order_by(ApiToken.created_at)))

    def find(
        self, tenant_id: uuid.UUID, ref: str, user_id: uuid.UUID | None = None
    ) -> ApiToken | None:
        stmt = self._scoped(tenant_id)
        if user_id is not None:
            stmt = stmt.where(ApiToken.user_id == user_id)
        try:
            stmt = stmt.where(ApiToken.id == uuid.UUID(ref))
        except ValueError:
            stmt = stmt.where(ApiToken.prefix == ref)
        return self.session.scalars(stmt).one_or_none()

    def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        self.session.flush()
        return token


def scoped(model: Any, tenant_id: uuid.UUID) -> Select[Any]:
    """``select(model)`` limited to one tenant's rows."""
    return tenant_scoped(select(model), model, tenant_id)


# A user's login row with the tenant's status and settings (by serial, across tenants:
# the serial is what identifies the tenant at login).
ACCOUNT_BY_SERIAL = (
    select(
        User.id,
        User.tenant_id,
        User.display_name,
        User.roles,
        User.password_hash,
        User.status,
        User.locked_until,
        User.totp_enabled,
        User.password_change_required,
        Tenant.status.label("tenant_status"),
        Tenant.settings.label("tenant_settings"),
    )
    .join(Tenant, Tenant.id == User.tenant_id)
    .where(User.serial == bindparam("serial"))
)
# Built once: this runs on every cookie-authenticated request.
SESSION_LOOKUP = (
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
        User.password_change_required,
        Tenant.status.label("tenant_status"),
        Tenant.settings.label("tenant_settings"),
    )
    .join(User, User.id == UserSession.user_id)
    .join(Tenant, Tenant.id == User.tenant_id)
    .where(UserSession.session_hash == bindparam("digest"))
)
