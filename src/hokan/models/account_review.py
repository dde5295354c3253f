from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class AccountReview(Base):
    """A recorded account inventory review (棚卸, IAM-7): the reviewer and per-account decisions."""

    __tablename__ = "account_reviews"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    reviewer: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decisions: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON)
    comment: Mapped[str] = mapped_column(String(1000))
