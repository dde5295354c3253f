"""The one place that builds attachment queries, always for one tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from hokan.kit.db import tenant_scoped
from hokan.models import AttachmentStatus, RecordAttachment
from hokan.records.repository import record_by_name


class AttachmentRepository:
    def __init__(self, session: Session, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _scoped(self) -> Select[RecordAttachment]:
        return tenant_scoped(select(RecordAttachment), RecordAttachment, self.tenant_id)

    def live_record_id(self, collection: str, key: str) -> uuid.UUID | None:
        row = record_by_name(self.session.connection(), self.tenant_id, collection, key)
        if row is None or row.deleted_at is not None:
            return None
        return uuid.UUID(str(row.id))

    def count(self, record_id: uuid.UUID) -> int:
        stmt = (
            tenant_scoped(select(func.count()), RecordAttachment, self.tenant_id)
            .select_from(RecordAttachment)
            .where(
                RecordAttachment.record_id == record_id,
                RecordAttachment.status == AttachmentStatus.active,
            )
        )
        return int(self.session.scalar(stmt) or 0)

    def active(self, record_id: uuid.UUID) -> list[RecordAttachment]:
        stmt = (
            self._scoped()
            .where(
                RecordAttachment.record_id == record_id,
                RecordAttachment.status == AttachmentStatus.active,
            )
            .order_by(RecordAttachment.created_at, RecordAttachment.id)
        )
        return list(self.session.scalars(stmt))

    def one(self, record_id: uuid.UUID, attachment_id: uuid.UUID) -> RecordAttachment | None:
        stmt = self._scoped().where(
            RecordAttachment.record_id == record_id,
            RecordAttachment.id == attachment_id,
            RecordAttachment.status == AttachmentStatus.active,
        )
        return self.session.scalars(stmt).one_or_none()

    def add(self, row: RecordAttachment) -> None:
        self.session.add(row)
        self.session.flush()

    def remove(self, row: RecordAttachment) -> None:
        self.session.delete(row)
        self.session.flush()

    def shred_record(self, record_id: uuid.UUID) -> int:
        """Erase the data keys of a record's attachments: their blobs can never open again."""
        result = self.session.execute(
            update(RecordAttachment)
            .where(
                RecordAttachment.tenant_id == self.tenant_id,
                RecordAttachment.record_id == record_id,
            )
            .values(wrapped_dek=None, status=AttachmentStatus.shredded)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def shredded_keys(self, limit: int = 500) -> list[str]:
        stmt = (
            tenant_scoped(select(RecordAttachment.blob_key), RecordAttachment, self.tenant_id)
            .where(RecordAttachment.status == AttachmentStatus.shredded)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def forget(self, blob_keys: list[str]) -> None:
        self.session.execute(
            delete(RecordAttachment).where(
                RecordAttachment.tenant_id == self.tenant_id,
                RecordAttachment.blob_key.in_(blob_keys),
                RecordAttachment.status == AttachmentStatus.shredded,
            )
        )

    def stale_keys(self, active: int, limit: int) -> list[RecordAttachment]:
        """Attachments whose data key is wrapped by an older tenant-key version."""
        stmt = (
            self._scoped()
            .where(RecordAttachment.key_version < active, RecordAttachment.wrapped_dek.is_not(None))
            .limit(limit)
        )
        return list(self.session.scalars(stmt))
