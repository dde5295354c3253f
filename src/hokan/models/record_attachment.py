from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import Base, UTCDateTime, new_id


class AttachmentStatus(StrEnum):
    active = "active"
    quarantined = "quarantined"  # malware found: kept encrypted for investigation, never served
    shredded = "shredded"  # data key erased with its record: the blob cannot be decrypted


class RecordAttachment(Base):
    """A file attached to a record (REC-4); its bytes are sealed chunk by chunk in the blob store.

    ``wrapped_dek`` is the attachment's data key wrapped by the tenant key:
    erasing it (record deleted) or the tenant key (LIFE-2) shreds the blob.
    """

    __tablename__ = "record_attachments"
    __table_args__ = (Index("ix_record_attachments_record", "tenant_id", "record_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("records.id", ondelete="CASCADE"))
    status: Mapped[AttachmentStatus] = mapped_column(
        Enum(AttachmentStatus, name="attachment_status", native_enum=False, length=16),
        default=AttachmentStatus.active,
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(150))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))  # of the plaintext, checked on every read
    blob_key: Mapped[str] = mapped_column(String(300))
    key_version: Mapped[int] = mapped_column(Integer)
    wrapped_dek: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    scanner: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str | None] = mapped_column(String(200), default=None)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
