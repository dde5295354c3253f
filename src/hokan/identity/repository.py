"""API token rows; tenant-scoped except the lookup by public prefix at login."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hokan.kit.db import tenant_scoped
from hokan.models import ApiToken, Tenant


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_prefix_with_tenant(self, prefix: str) -> tuple[ApiToken, Tenant] | None:
        # Authentication has no tenant yet: the token itself names it.
        row = self.session.execute(
            select(ApiToken, Tenant)
            .join(Tenant, Tenant.id == ApiToken.tenant_id)
            .where(ApiToken.prefix == prefix)
        ).one_or_none()
        return (row[0], row[1]) if row else None

    def _scoped(self, tenant_id: uuid.UUID) -> Select[ApiToken]:
        return tenant_scoped(select(ApiToken), ApiToken, tenant_id)

    def for_tenant(self, tenant_id: uuid.UUID) -> list[ApiToken]:
        return list(self.session.scalars(self._scoped(tenant_id).order_by(ApiToken.created_at)))

    def find(self, tenant_id: uuid.UUID, ref: str) -> ApiToken | None:
        stmt = self._scoped(tenant_id)
        try:
            stmt = stmt.where(ApiToken.id == uuid.UUID(ref))
        except ValueError:
            stmt = stmt.where(ApiToken.prefix == ref)
        return self.session.scalars(stmt).one_or_none()

    def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        self.session.flush()
        return token
