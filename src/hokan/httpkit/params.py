"""Bounded path and query parameters, shared by every route.

An integer the database cannot hold would otherwise reach it and fail there
(a 500); bounded here, FastAPI refuses it as ``invalid_parameter`` (400) and the
OpenAPI document shows the bound.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

INT32_MAX = 2**31 - 1  # INTEGER columns (PostgreSQL int4)
INT64_MAX = 2**63 - 1  # BIGINT columns; SQLite's INTEGER

Revision = Annotated[int, Path(ge=1, le=INT32_MAX, description="A revision number (from 1)")]
"""A record revision (an INTEGER column)."""

SeqCursor = Annotated[
    int, Query(ge=0, le=INT64_MAX, description="next_cursor of the previous page")
]
"""A cursor over a BIGINT sequence (the audit log)."""


def page_limit(maximum: int, description: str = "Items per page") -> object:
    """``Query`` metadata for a page size between 1 and ``maximum``."""
    return Query(ge=1, le=maximum, description=description)
