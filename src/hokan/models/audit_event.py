from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, PortableJSON, UTCDateTime


class AuditEvent(Base):
    """One entry of the append-only operation log (AUD-1), hash-chained (AUD-2).

        ``chain`` is the tenant id, or ``system`` for operator and system events;
        ``seq`` counts from 1 within a chain and ``entry_hash`` commits to the
        previous entry's hash; ``entry_mac`` authenticates it under a key held in the
    keyring database. Database triggers refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_audit_events_tenant_time", "tenant_id", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    chain: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(300))
    source_ip: Mapped[str] = mapped_column(String(45))
    cert_fingerprint: Mapped[str] = mapped_column(String(95))
    request_id: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    # HMAC of entry_hash under the keyring's audit MAC key (ADR 0011); NULL on
    # entries written before it existed.
    entry_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)
