"""Who hears about a tenant's security events: its security/admin contacts and tenant admins."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from hokan.identity import repository
from hokan.models import Tenant


def security_recipients(s: Session, tenant: Tenant | uuid.UUID) -> list[str]:
    """E-mail addresses of the tenant's security and admin contacts and active tenant admins."""
    row = tenant if isinstance(tenant, Tenant) else s.get(Tenant, tenant)
    if row is None:
        return []
    recipients = [
        c["email"] for c in row.contacts or [] if {"security", "admin"} & set(c.get("roles", []))
    ]
    people = s.execute(repository.active_user_emails(row.id))
    recipients += [email for email, roles in people if "tenant_admin" in (roles or [])]
    return recipients
