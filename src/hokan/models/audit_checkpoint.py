from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, UTCDateTime


class AuditCheckpoint(Base):
    """A signed statement that a chain's entry ``seq`` had hash ``head_hash`` (AUD-2).

    Ed25519 over ``checkpoint_message``; append-only like the entries.
    """

    __tablename__ = "audit_checkpoints"
    # The latest checkpoint of a chain (the checkpoint job, the /metrics age) by index.
    __table_args__ = (Index("ix_audit_checkpoints_chain_seq", "chain", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    chain: Mapped[str] = mapped_column(String(40), index=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))
