from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base


class AuthGeneration(Base):
    """One row counting changes that can revoke a cached credential (ADR 0027).

    Triggers (migration 0096a) add one when a token is revoked, re-scoped, expired
    early or deleted, and when a user's or a tenant's status or a user's roles change.
    Each process re-reads it at most every ``HOKAN_AUTH_CACHE_SECONDS`` and drops its
    authentication cache when it moved.
    """

    __tablename__ = "auth_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
