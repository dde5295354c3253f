from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, UTCDateTime


class AuditSegment(Base):
    """Entries ``first_seq..last_seq`` of a chain, moved to a compressed file.

    The database keeps this record (file name, SHA-256 of the file, last entry
    hash) so verification knows which segments must exist and what they hold;
    only entries covered by a segment can be deleted from ``audit_events``.
    """

    __tablename__ = "audit_segments"
    __table_args__ = (UniqueConstraint("chain", "first_seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    chain: Mapped[str] = mapped_column(String(40))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
