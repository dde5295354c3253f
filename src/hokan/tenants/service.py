"""Tenant rules: creation with keys, status changes, validated settings, contacts."""

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
from hokan.tenants import contacts
from hokan.tenants.contacts import Contact, ContactIn
from hokan.tenants.errors import (
    ContactNotFound,
    InvalidContact,
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
            "contacts": contacts.stored(tenant.id, tenant.contacts),
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
        book: list[Contact] = []
        for given in data.contacts:
            book, _, _ = contacts.merged(book, contacts.checked(given))
        tenant = repo.add(
            Tenant(
                id=uuid.uuid4(),
                code=data.code,
                name=data.name,
                product=data.product,
                status=TenantStatus.active,
                contacts=contacts.dumped(book),
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

    # -- contacts (who hears the tenant's notices: tenants.contacts.NOTICE_ROUTES) ----

    def _contact_tenant(self, session: Session, principal: Principal, ref: str | None) -> Tenant:
        """A tenant's own caller reaches its own tenant only; the CLI names one."""
        if principal.tenant_id is not None:
            return self.get_by_id(session, principal.tenant_id)
        if ref is None:
            raise TenantNotFound
        return self.get(session, ref)

    @action("tenant.contact_list", "tenant")
    def list_contacts(
        self, session: Session, principal: Principal, *, tenant: str | None = None
    ) -> list[Contact]:
        """The tenant's contacts (``tenant``: its code or id, for the CLI only)."""
        row = self._contact_tenant(session, principal, tenant)
        found = contacts.stored(row.id, row.contacts)
        audit.record(
            session,
            principal,
            "tenant.contact_list",
            "tenant",
            row.code,
            detail={"count": len(found)},
            tenant_id=row.id,
        )
        return found

    @action("tenant.contact_add", "contact")
    def add_contact(
        self, session: Session, principal: Principal, data: ContactIn, *, tenant: str | None = None
    ) -> tuple[Contact, bool]:
        """Add a contact, or merge its roles into the contact with the same address.
        Returns the contact and whether it was merged. Audited by id, never by address."""
        row = self._contact_tenant(session, principal, tenant)
        book, contact, merged = contacts.merged(
            contacts.stored(row.id, row.contacts),
            contacts.checked(data),
            language_given=data.language is not None,
        )
        self._store(session, row, book)
        audit.record(
            session,
            principal,
            "tenant.contact_add",
            "contact",
            str(contact.id),
            detail={"roles": [r.value for r in contact.roles], "merged": merged},
            tenant_id=row.id,
        )
        return contact, merged

    @action("tenant.contact_update", "contact", lambda contact_id, *a, **k: str(contact_id))
    def update_contact(
        self,
        session: Session,
        principal: Principal,
        contact_id: uuid.UUID,
        data: ContactIn,
        *,
        tenant: str | None = None,
    ) -> Contact:
        """Replace a contact's address, roles, name and language (its id stays)."""
        row = self._contact_tenant(session, principal, tenant)
        book = contacts.stored(row.id, row.contacts)
        if not any(c.id == contact_id for c in book):
            raise ContactNotFound
        contact = contacts.checked(data, contact_id)
        others = [c for c in book if c.id != contact_id]
        if any(c.email.lower() == contact.email.lower() for c in others):
            # The address is another contact's: one address is one contact.
            raise InvalidContact("duplicate")
        self._store(session, row, [contact if c.id == contact_id else c for c in book])
        audit.record(
            session,
            principal,
            "tenant.contact_update",
            "contact",
            str(contact_id),
            detail={"roles": [r.value for r in contact.roles]},
            tenant_id=row.id,
        )
        return contact

    @action("tenant.contact_remove", "contact", lambda ref, *a, **k: contacts.target(ref))
    def remove_contact(
        self,
        session: Session,
        principal: Principal,
        ref: uuid.UUID | str,
        *,
        tenant: str | None = None,
    ) -> Contact:
        """Remove a contact by id, or (the CLI) by its e-mail address."""
        row = self._contact_tenant(session, principal, tenant)
        book = contacts.stored(row.id, row.contacts)
        gone = next(
            (
                c
                for c in book
                if (c.id == ref if isinstance(ref, uuid.UUID) else c.email.lower() == ref.lower())
            ),
            None,
        )
        if gone is None:
            raise ContactNotFound
        self._store(session, row, [c for c in book if c.id != gone.id])
        audit.record(
            session,
            principal,
            "tenant.contact_remove",
            "contact",
            str(gone.id),
            detail={"roles": [r.value for r in gone.roles]},
            tenant_id=row.id,
        )
        return gone

    def _store(self, session: Session, tenant: Tenant, book: list[Contact]) -> None:
        tenant.contacts = contacts.dumped(book)
        tenant.updated_at = utcnow()
        session.flush()
