"""The action a unit of work is carrying out, declared by the service that does it.

A service names its action (``domain.verb``), target type and target once, at
the start of the work (:func:`hokan.audit.actions.action` does it for a whole
method). The unit of work reads the declaration back when the work fails, so
the failure entry carries the service's own name for what was attempted, not
a name repeated (and drifting) at the call site.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

_KEY = "hokan.action"


@dataclass(frozen=True, slots=True)
class Declared:
    action: str
    target_type: str
    target_id: str = ""
    # Known before the work runs and safe to keep (a purpose, a kind): on the failure entry too.
    detail: Mapping[str, Any] | None = None


def declare(
    session: Session,
    action: str,
    target_type: str,
    target_id: str = "",
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Declare (or refine: a PUT that turns out to create) what this unit of work does."""
    session.info[_KEY] = Declared(action, target_type, target_id, detail)


def declared(session: Session) -> Declared | None:
    found = session.info.get(_KEY)
    return found if isinstance(found, Declared) else None
