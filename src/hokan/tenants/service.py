"""Tenant rules: creation with keys, status changes, validated settings."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.actions import action, succeeded
from hokan.keyring.service import Keyring
from hokan.kit.clock import utcnow
from hokan.models import Tenant, TenantStatus
from hokan.principals.principal import Principal
from hokan.tenants.errors import (
    InvalidTenantSettings,
    TenantCodeTaken,
    TenantInactive,
    TenantNotFound,
)
from hokan.tenants.repository import TenantRepository
from hokan.tenants.schemas import TenantCreate, TenantOut, TenantSettings


def to_out(tenant: Tenant) -> TenantOut:
    return TenantOut.model_validate(
        {
            "id": tenant.id,
            "code": tenant.code,
            "name": tenant.name,
            "product": tenant.product,
            "status": tenant.status,
            "contacts": tenant.contacts,
            "settings": tenant.settings,
            "created_at": tenant.created_at,
            "updated_at": tenant.updated_at,
        }
    )


_VERBS = {
    TenantStatus.active: "resume",
    TenantStatus.suspended: "suspend",
    TenantStatus.terminated: "terminate",
    TenantStatus.disposed: "dispose",
}


class TenantService:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def create(self, session: Session, data: TenantCreate, actor: Principal) -> Tenant:
        """Create a tenant and its keys. The keys live in the keyring database."""
        repo = TenantRepository(session)
        if repo.by_code(data.code) is not None:
            raise TenantCodeTaken
        tenant = repo.add(
            Tenant(
                id=uuid.uuid4(),
                code=data.code,
                name=data.name,
                product=data.product,
                status=TenantStatus.active,
                contacts=[c.model_dump(mode="json") for c in data.contacts],
                settings=data.settings.model_dump(mode="json"),
            )
        )
        # Keys first in their own database; if the system commit then fails the
        # orphan keys protect nothing and are harmless.
        self.keyring.create_tenant_keys(tenant.id)
        audit.record(session, actor, "tenant.create", "tenant", tenant.code, tenant_id=tenant.id)
        return tenant

    def get(self, session: Session, ref: str) -> Tenant:
        """Find a tenant by code or id."""
        repo = TenantRepository(session)
        tenant = repo.by_code(ref)
        if tenant is None:
            try:
                tenant = repo.get(uuid.UUID(ref))
            except ValueError:
                tenant = None
        if tenant is None:
            raise TenantNotFound
        return tenant

    def get_by_id(self, session: Session, tenant_id: uuid.UUID | None) -> Tenant:
        tenant = TenantRepository(session).get(tenant_id) if tenant_id else None
        if tenant is None:
            raise TenantNotFound
        return tenant

    @action("tenant.read", "tenant")
    def read_own(self, session: Session, principal: Principal) -> Tenant:
        """The caller's own tenant (its profile route)."""
        tenant = self.get_by_id(session, principal.tenant_id)
        succeeded(session, principal, target_id=tenant.code)
        return tenant

    def all(self, session: Session) -> list[Tenant]:
        return TenantRepository(session).all()

    def set_status(
        self, session: Session, ref: str, status: TenantStatus, actor: Principal
    ) -> Tenant:
        tenant = self.get(session, ref)
        if tenant.status is TenantStatus.disposed:
            raise TenantInactive("a disposed tenant cannot change status")
        previous = tenant.status
        tenant.status = status
        tenant.updated_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor,
            f"tenant.{_VERBS[status]}",
            "tenant",
            tenant.code,
            detail={"from": previous.value, "to": status.value},
            tenant_id=tenant.id,
        )
        return tenant

    def update_settings(
        self, session: Session, ref: str, changes: dict[str, Any], actor: Principal
    ) -> Tenant:
        tenant = self.get(session, ref)
        try:
            merged = TenantSettings.model_validate({**tenant.settings, **changes})
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            raise InvalidTenantSettings("invalid_fields", fields=", ".join(fields)) from None
        tenant.settings = merged.model_dump(mode="json")
        tenant.updated_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor,
            "tenant.settings",
            "tenant",
            tenant.code,
            detail={"changed": sorted(changes)},
            tenant_id=tenant.id,
        )
        return tenant
