from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import Base, UTCDateTime, new_id


class TerminalCertificate(Base):
    """A client certificate Hokan's CA issued to one terminal of one tenant, or to an
    operator terminal (``tenant_id`` NULL) of Hokan's own staff (EDGE-1).

    Only the public facts are kept: the private key leaves in the PKCS#12 bundle
    and is never stored.
    """

    __tablename__ = "terminal_certificates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    serial: Mapped[str] = mapped_column(String(40), unique=True)  # hex, as openssl prints it
    fingerprint: Mapped[str] = mapped_column(String(95), unique=True)  # SHA-256, AA:BB:…
    terminal: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(200), default=None)
    revocation_reason: Mapped[str | None] = mapped_column(String(200), default=None)
