"""Helpers of the exact audit matrix (issue 11): the audit entries a block of calls leaves,
by action, and assertions by action name (never by count of entries)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select

from hokan.models import AuditEvent
from hokan.runtime import Runtime

Trail = dict[str, list[str]]


def _ids(runtime: Runtime) -> set[uuid.UUID]:
    with runtime.db.session(system=True) as s:
        return set(s.scalars(select(AuditEvent.id)))


@contextmanager
def trail(runtime: Runtime) -> Iterator[Trail]:
    """The results of the audit entries written inside the block, by action."""
    before = _ids(runtime)
    found: Trail = {}
    yield found
    with runtime.db.session(system=True) as s:
        rows = s.execute(
            select(AuditEvent.id, AuditEvent.action, AuditEvent.result).order_by(
                AuditEvent.occurred_at
            )
        ).all()
    for row_id, action, result in rows:
        if row_id not in before:
            found.setdefault(action, []).append(result)


def only(found: Trail, action: str, result: str) -> None:
    """Exactly one entry, ``(action, result)``, and nothing under the route fallback."""
    assert found.get(action) == [result], found
    assert not any(a.startswith("http.") for a in found), found


def refused(found: Trail, refusal: str, action: str) -> None:
    """Refused before the service ran: the refusal's entry, none under the action."""
    assert found.get(refusal) == ["denied"], found
    assert action not in found, found
