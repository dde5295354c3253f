"""The keyring database's tenant-scoped statements: every tenant filter of the keyring is here.

The keyring database has no row-level security of its own (it is a separate
file or database with its own credentials): scoping a query to one tenant's
keys is done here, once, by statement builders the service executes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import Select, Update, bindparam, select, update

from hokan.kit.clock import utcnow
from hokan.models import KeyStatus, TenantKey, VaultEntryKey

ENTRY_KEYS = select(VaultEntryKey.entry_id, VaultEntryKey.key_version, VaultEntryKey.wrapped_key)
# The hot path (one entry): a statement built once, bound per call.
ENTRY_KEY = ENTRY_KEYS.where(
    VaultEntryKey.tenant_id == bindparam("tenant_id"),
    VaultEntryKey.entry_id == bindparam("entry_id"),
)


def entry_keys(
    tenant_id: uuid.UUID, entry_ids: Iterable[uuid.UUID]
) -> Select[uuid.UUID, int, bytes | None]:
    return ENTRY_KEYS.where(VaultEntryKey.tenant_id == tenant_id).where(
        VaultEntryKey.entry_id.in_(list(entry_ids))
    )


def destroy_entry_key(tenant_id: uuid.UUID, entry_id: uuid.UUID) -> Update:
    return (
        update(VaultEntryKey)
        .where(
            VaultEntryKey.tenant_id == tenant_id,
            VaultEntryKey.entry_id == entry_id,
            VaultEntryKey.wrapped_key.is_not(None),
        )
        .values(wrapped_key=None, destroyed_at=utcnow())
    )


def tenant_keys(tenant_id: uuid.UUID, purpose: str) -> Select[TenantKey]:
    """Every version of one purpose's key, oldest first."""
    return (
        select(TenantKey)
        .where(TenantKey.tenant_id == tenant_id, TenantKey.purpose == purpose)
        .order_by(TenantKey.version)
    )


def key_versions(tenant_id: uuid.UUID, purpose: str) -> Select[int, KeyStatus]:
    """(version, status) of one purpose's key, newest first."""
    return (
        select(TenantKey.version, TenantKey.status)
        .where(TenantKey.tenant_id == tenant_id, TenantKey.purpose == purpose)
        .order_by(TenantKey.version.desc())
    )


def destroy_tenant_keys(tenant_id: uuid.UUID) -> Update:
    return (
        update(TenantKey)
        .where(TenantKey.tenant_id == tenant_id, TenantKey.status != KeyStatus.destroyed)
        .values(status=KeyStatus.destroyed, wrapped_key=None, destroyed_at=utcnow())
    )


def listing(tenant_id: uuid.UUID | None) -> Select[TenantKey]:
    """Every key (or one tenant's), for the operator's listing."""
    stmt = select(TenantKey).order_by(TenantKey.tenant_id, TenantKey.purpose, TenantKey.version)
    return stmt if tenant_id is None else stmt.where(TenantKey.tenant_id == tenant_id)
