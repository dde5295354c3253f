"""External dependencies failing: one log line naming the dependency, and a count.

Every place that meets a dependency failure — and either refuses (fail closed)
or carries on with less (degrades) — reports it here, so operators find
``dependency=redis`` in the log with the request's id, and the counts per
dependency and outcome are there for a metrics export (ADR 0012).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

log = logging.getLogger("hokan.dependencies")

# (dependency, outcome) -> times; outcome is "refused", "degraded" or "error".
failures: Counter[tuple[str, str]] = Counter()
_lock = threading.Lock()


def failed(dependency: str, exc: BaseException, outcome: str, op: str = "") -> None:
    """Count a failure of ``dependency`` and log it (the exception's type only)."""
    count(dependency, outcome)
    fields = {"dependency": dependency, "outcome": outcome, "exc_type": type(exc).__name__}
    if op:
        fields["op"] = op
    log.warning("dependency unavailable", extra={"fields": fields})


def count(dependency: str, outcome: str) -> None:
    with _lock:
        failures[(dependency, outcome)] += 1


def recovered(dependency: str) -> None:
    log.warning("dependency available again", extra={"fields": {"dependency": dependency}})
