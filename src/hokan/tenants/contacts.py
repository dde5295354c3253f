"""A tenant's contacts and who of them hears which notice (TEN-1, MON-3).

Contacts are a validated list on the tenant row (``tenants.contacts``, JSON):
each has a stable id, an optional name, an e-mail address, one or more roles
and a language. One address is one contact: adding an address that is already
there merges the roles. Data written before contacts had ids or these roles is
read through :func:`stored` — a missing id is derived from the tenant and the
address (stable until the next change stores it), the old ``admin`` role reads
as ``security`` — so no data migration is needed; the next change writes the
list back in the current shape.

Which role hears which notice: :mod:`hokan.tenants.notices`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hokan.tenants.errors import InvalidContact, TooManyContacts

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_CONTACTS = 20
LANGUAGES = ("ja", "en")


class ContactRole(StrEnum):
    security = "security"  # lockouts, malware, operator access: security notices
    notice = "notice"  # service notices: maintenance, incidents
    billing = "billing"  # invoices and contract matters
    technical = "technical"  # integration and technical matters


_KNOWN = frozenset(r.value for r in ContactRole)
# Roles of stored data from before these four (read as their successor).
LEGACY_ROLES = {"admin": ContactRole.security}


class Contact(BaseModel):
    """One contact as stored and as the API shows it."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    name: str | None = Field(default=None, max_length=100)
    email: str = Field(max_length=254)
    roles: list[ContactRole] = Field(min_length=1, max_length=len(ContactRole))
    language: Literal["ja", "en"] = "ja"


class ContactIn(BaseModel):
    """A contact as a caller gives it; checked by :func:`checked` (400 ``invalid_contact``)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, description="e-mail address, e.g. name@example.co.jp")
    roles: list[str] = Field(
        min_length=1,
        max_length=8,
        description="one or more of: " + ", ".join(r.value for r in ContactRole),
    )
    name: str | None = Field(default=None, max_length=100)
    language: str | None = Field(
        default=None, max_length=8, description="ja or en (a new contact: ja; a merge: kept)"
    )


def _roles(values: Iterable[str]) -> list[ContactRole]:
    """Known roles, sorted and without repeats; legacy names read as their successor."""
    out: set[ContactRole] = set()
    for value in values:
        if value in LEGACY_ROLES:
            out.add(LEGACY_ROLES[value])
        else:
            out.add(ContactRole(value))
    return sorted(out)


def checked(data: ContactIn, contact_id: uuid.UUID | None = None) -> Contact:
    """A new contact from ``data``, or :class:`InvalidContact` naming what is wrong."""
    email = data.email.strip()
    if len(email) > 254 or not re.match(EMAIL_PATTERN, email):
        raise InvalidContact("email")
    try:
        roles = _roles(data.roles)
    except ValueError:
        raise InvalidContact("role", allowed=", ".join(r.value for r in ContactRole)) from None
    if not roles:
        raise InvalidContact("role", allowed=", ".join(r.value for r in ContactRole))
    language = data.language or "ja"
    if language not in LANGUAGES:
        raise InvalidContact("language")
    name = (data.name or "").strip() or None
    return Contact(
        id=contact_id or uuid.uuid4(), name=name, email=email, roles=roles, language=language
    )


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def stored(tenant_id: uuid.UUID, raw: Iterable[Mapping[str, Any]] | None) -> list[Contact]:
    """The tenant's contacts from the stored JSON, in the current shape, merged by address."""
    out: list[Contact] = []
    for item in raw or []:
        email = str(item.get("email", "")).strip()
        if not email:
            continue
        known = [r for r in item.get("roles", ["notice"]) if r in LEGACY_ROLES or r in _KNOWN]
        given = item.get("id")
        contact = Contact(
            id=uuid.UUID(str(given)) if given else uuid.uuid5(tenant_id, email.lower()),
            name=item.get("name") or None,
            email=email,
            roles=_roles(known) or [ContactRole.notice],
            language=item.get("language") if item.get("language") in LANGUAGES else "ja",
        )
        twin = next((c for c in out if _same(c.email, email)), None)
        if twin is None:
            out.append(contact)
        else:
            twin.roles = sorted(set(twin.roles) | set(contact.roles))
    return out


def masked(email: str) -> str:
    """An address as audit entries may show it: ``y***@example.co.jp``."""
    local, _, domain = email.strip().partition("@")
    return f"{local[:1]}***@{domain}"


def target(ref: uuid.UUID | str) -> str:
    """A contact named in an audit entry: its id, or a masked address (never the address)."""
    return str(ref) if isinstance(ref, uuid.UUID) else masked(ref)


def dumped(contacts: Iterable[Contact]) -> list[dict[str, Any]]:
    """The list as it is stored on the tenant row."""
    return [c.model_dump(mode="json") for c in contacts]


def merged(
    contacts: list[Contact], new: Contact, *, language_given: bool = True
) -> tuple[list[Contact], Contact, bool]:
    """``contacts`` with ``new`` added, or merged into the contact with its address
    (roles joined; a given name or language replaces the old). Returns the list, the
    contact as it now is, and whether it merged. :class:`TooManyContacts` past the cap."""
    twin = next((c for c in contacts if _same(c.email, new.email)), None)
    if twin is None:
        if len(contacts) >= MAX_CONTACTS:
            raise TooManyContacts("cap", limit=MAX_CONTACTS)
        return [*contacts, new], new, False
    updated = twin.model_copy(
        update={
            "roles": sorted(set(twin.roles) | set(new.roles)),
            "name": new.name or twin.name,
            "language": new.language if language_given else twin.language,
        }
    )
    return [updated if c.id == twin.id else c for c in contacts], updated, True
