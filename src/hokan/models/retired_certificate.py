from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, UTCDateTime


class RetiredCertificate(Base):
    """A revoked terminal certificate of a disposed tenant: the row of the certificate
    is gone with the tenant, but its serial stays on the CRL until it expires."""

    __tablename__ = "retired_certificates"

    serial: Mapped[str] = mapped_column(String(40), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
