"""The lifecycle's tenant-scoped statements: every table that holds a tenant's rows,
found from the models' metadata, so a table added later cannot be forgotten."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import (
    Connection,
    Delete,
    MetaData,
    Select,
    Table,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from hokan.kit.db import Base, KeyringBase, VaultStoreBase
from hokan.models import (
    BackupRestoreRequest,
    Collection,
    Record,
    RecordAttachment,
    RecordRevision,
    RetiredCertificate,
    Tenant,
    TenantDisposal,
    TerminalCertificate,
    User,
)

# Tables with a tenant_id that disposal keeps, and why (said in the certificate).
KEPT: dict[str, str] = {
    "audit_events": "audit trail: ids and actions, never data (§3-5, AUD-1)",
    "audit_chains": "audit trail: the chain heads",
    "audit_checkpoints": "audit trail: signed checkpoints",
    "audit_segments": "audit trail: archived segments",
    "audit_findings": "internal audit findings: ids only",
    "tenant_disposals": "the disposal record and its certificate",
}


def _owned(metadata: MetaData) -> list[Table]:
    """Tables with a ``tenant_id`` column, children before parents (delete order)."""
    return [
        t for t in reversed(metadata.sorted_tables) if "tenant_id" in t.c and t.name not in KEPT
    ]


def system_tables() -> list[Table]:
    return _owned(Base.metadata)


def keyring_tables() -> list[Table]:
    return _owned(KeyringBase.metadata)


def vault_tables() -> list[Table]:
    return _owned(VaultStoreBase.metadata)


def delete_rows(table: Table, tenant_id: uuid.UUID) -> Delete:
    return delete(table).where(table.c.tenant_id == tenant_id)


def count_rows(table: Table, tenant_id: uuid.UUID) -> Select[int]:
    return select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)


def remaining(
    conn: Connection | Session, tables: Iterable[Table], tenant_id: uuid.UUID
) -> dict[str, int]:
    """Rows of the tenant left in each table (only the non-zero ones)."""
    out: dict[str, int] = {}
    for table in tables:
        n = int(conn.execute(count_rows(table, tenant_id)).scalar_one())
        if n:
            out[table.name] = n
    return out


def counts(s: Session, tenant_id: uuid.UUID) -> dict[str, int]:
    """Every tenant-owned table's row count for the tenant (before deletion)."""
    return {t.name: int(s.execute(count_rows(t, tenant_id)).scalar_one()) for t in system_tables()}


def terminals(s: Session, tenant_id: uuid.UUID) -> list[TerminalCertificate]:
    stmt = select(TerminalCertificate).where(TerminalCertificate.tenant_id == tenant_id)
    return list(s.scalars(stmt))


def retire_certificates(s: Session, rows: Iterable[TerminalCertificate]) -> None:
    """Keep the revoked serials on the CRL after the rows are gone with the tenant."""
    for row in rows:
        if row.revoked_at is not None and s.get(RetiredCertificate, row.serial) is None:
            s.add(
                RetiredCertificate(
                    serial=row.serial, revoked_at=row.revoked_at, not_after=row.not_after
                )
            )
    s.flush()


def sample_revision(s: Session, tenant_id: uuid.UUID) -> RecordRevision | None:
    """One stored revision of the tenant: the ciphertext backups are tried against."""
    stmt = select(RecordRevision).where(RecordRevision.tenant_id == tenant_id).limit(1)
    return s.scalars(stmt).first()


def attachment_keys(s: Session, tenant_id: uuid.UUID) -> list[str]:
    stmt = select(RecordAttachment.blob_key).where(RecordAttachment.tenant_id == tenant_id)
    return [k for k in s.scalars(stmt) if k]


def disposal(s: Session, tenant_id: uuid.UUID) -> TenantDisposal | None:
    stmt = select(TenantDisposal).where(TenantDisposal.tenant_id == tenant_id)
    return s.scalars(stmt).one_or_none()


def due(s: Session, now: object) -> list[Tenant]:
    """Terminated tenants whose grace period is over, with no hold."""
    from hokan.models import TenantStatus

    stmt = select(Tenant).where(
        Tenant.status == TenantStatus.terminated,
        Tenant.dispose_after.is_not(None),
        Tenant.dispose_after <= now,
        Tenant.legal_hold.is_(None),
        Tenant.restore_pending.is_(None),
    )
    return list(s.scalars(stmt))


def pending_restore(s: Session, code: str) -> str | None:
    """A requested restore that would bring the tenant's rows back: one for the tenant,
    or an in-place restore of the whole system (``hokan backup request-restore``)."""
    stmt = select(BackupRestoreRequest.id).where(
        BackupRestoreRequest.status == "requested",
        or_(BackupRestoreRequest.tenant_code == code, BackupRestoreRequest.mode == "in_place"),
    )
    found = s.scalars(stmt.limit(1)).first()
    return str(found) if found is not None else None


def scrub_tenant(s: Session, tenant: Tenant) -> None:
    """What stays of the tenant row: code, name and contacts (the contract, and who gets
    the certificate); its security settings go."""
    s.execute(update(Tenant).where(Tenant.id == tenant.id).values(settings={}))


# -- export (LIFE-4) -------------------------------------------------------------------


def collections(s: Session, tenant_id: uuid.UUID) -> list[Collection]:
    stmt = select(Collection).where(Collection.tenant_id == tenant_id).order_by(Collection.name)
    return list(s.scalars(stmt))


def records_of(s: Session, tenant_id: uuid.UUID, collection_id: uuid.UUID) -> list[Record]:
    stmt = (
        select(Record)
        .where(Record.tenant_id == tenant_id, Record.collection_id == collection_id)
        .order_by(Record.record_key)
    )
    return list(s.scalars(stmt))


def revisions_of(s: Session, tenant_id: uuid.UUID, record_id: uuid.UUID) -> list[RecordRevision]:
    stmt = (
        select(RecordRevision)
        .where(RecordRevision.tenant_id == tenant_id, RecordRevision.record_id == record_id)
        .order_by(RecordRevision.revision)
    )
    return list(s.scalars(stmt))


def attachments_of(s: Session, tenant_id: uuid.UUID) -> list[RecordAttachment]:
    stmt = (
        select(RecordAttachment)
        .where(RecordAttachment.tenant_id == tenant_id, RecordAttachment.wrapped_dek.is_not(None))
        .order_by(RecordAttachment.created_at, RecordAttachment.id)
    )
    return list(s.scalars(stmt))


def users_of(s: Session, tenant_id: uuid.UUID) -> list[User]:
    return list(s.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.serial)))
