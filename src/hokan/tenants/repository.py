"""Tenant rows. Tenants are the root of scoping, so lookups here are by id or code."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from hokan.models import Tenant, User, UserStatus


class TenantRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return self.session.get(Tenant, tenant_id)

    def by_code(self, code: str) -> Tenant | None:
        return self.session.scalars(select(Tenant).where(Tenant.code == code)).one_or_none()

    def all(self) -> list[Tenant]:
        return list(self.session.scalars(select(Tenant).order_by(Tenant.code)))

    def add(self, tenant: Tenant) -> Tenant:
        self.session.add(tenant)
        self.session.flush()
        return tenant

    def admin_emails(self, tenant_id: uuid.UUID) -> list[str]:
        """E-mail addresses of the tenant's active admins (who is notified)."""
        rows = self.session.execute(
            select(User.email, User.roles).where(
                User.tenant_id == tenant_id, User.status == UserStatus.active
            )
        )
        return [email for email, roles in rows if email and "tenant_admin" in (roles or [])]
