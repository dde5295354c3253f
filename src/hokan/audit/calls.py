"""Run a route's work so that its failure is audited too.

A failed action's own transaction rolls back with its audit entry, so the
failure (denied or error) is recorded in a transaction of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from anyio import to_thread

from hokan.audit.errors import AuditWriteFailed
from hokan.audit.service import record_failure
from hokan.kit.errors import HokanError
from hokan.principals.principal import Principal

if TYPE_CHECKING:
    from hokan.httpkit.context import Host

T = TypeVar("T")
log = logging.getLogger("hokan.audit")


async def audited(
    runtime: Host,
    principal: Principal,
    action: str,
    target_type: str,
    target_id: str,
    work: Callable[[], T],
    detail: Mapping[str, Any] | None = None,
    *,
    in_thread: bool = False,
) -> T:
    """Run ``work``; if it fails with a HokanError, audit the failure (plus ``detail``).

    ``in_thread``: always in the threadpool (work that pulls a request body from there).
    """
    try:
        if in_thread:
            return await to_thread.run_sync(work)
        return await runtime.call(work)
    except AuditWriteFailed:
        raise
    except HokanError as exc:
        try:
            await runtime.call(
                partial(
                    record_failure,
                    runtime.db,
                    principal,
                    action,
                    target_type,
                    target_id,
                    exc,
                    detail=detail,
                )
            )
        except Exception as audit_exc:  # the caller gets the original error either way
            log.error(
                "failure not audited", extra={"fields": {"exc_type": type(audit_exc).__name__}}
            )
            raise AuditWriteFailed from audit_exc
        raise
