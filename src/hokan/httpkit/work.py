"""The request-scoped unit of work (ADR 0014): one per route call, the same for jobs.

``await work(fn)`` opens one session tagged with the principal's tenant (the
row-level-security context on PostgreSQL), runs ``fn(session)`` — the service
call — and commits once. If the service raises a :class:`HokanError`, the
transaction rolls back with everything it wrote, and the failure is audited
in a transaction of its own under the action the service declared
(:mod:`hokan.kit.actions`): denied for 401/403, error otherwise. If that audit
cannot be written, the caller gets ``audit_write_failed``: no unrecorded failure.
An error class with ``keeps_work`` (malware kept in quarantine) is the one
exception: what the work wrote is committed first, then the failure is audited.

A request may take steps: an upload is admitted in one transaction, streams
in with none open (:meth:`Work.step`: SQLite's writer lock stays free), and
is stored in another; a failure of the middle step is audited under the
action the first one declared.

Where the blocking work runs is ADR 0001's choice, kept here: inline on the
event loop on SQLite, the bounded threadpool on PostgreSQL (``Host.call``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from anyio import to_thread
from sqlalchemy.orm import Session

from hokan.kit.actions import Declared, declared
from hokan.kit.errors import AuditWriteFailed, HokanError

if TYPE_CHECKING:
    from hokan.httpkit.context import Host
    from hokan.principals import Principal

T = TypeVar("T")
log = logging.getLogger("hokan.audit")


class Work:
    """One caller's unit of work: ``await work(lambda s: service.do(s, work.principal, …))``."""

    __slots__ = ("declared", "fallback", "host", "principal", "system")

    def __init__(
        self, host: Host, principal: Principal, fallback: Declared, *, system: bool = False
    ) -> None:
        self.host = host
        self.principal = principal
        # Operators' own routes work outside any tenant (the system RLS scope).
        self.system = system
        # Audited when the work fails before its service declared an action
        # (the exact-audit matrix test keeps this from ever being reached by a route).
        self.fallback = fallback
        # The action the work's last transaction declared: a later step of the same
        # request that needs no transaction (:meth:`step`) is audited under it.
        self.declared: Declared | None = None

    def resolve(self, kind: type[T]) -> T:
        return self.host.resolve(kind)

    async def __call__(
        self, fn: Callable[[Session], T], *, system: bool | None = None, in_thread: bool = False
    ) -> T:
        """Run ``fn`` in one transaction; audit its failure. ``system``: no tenant context
        (the default for operators' routes); ``in_thread``: always in the threadpool
        (work that pulls a request body from there)."""
        run = self.bind(fn, system=self.system if system is None else system)
        if in_thread:
            return await to_thread.run_sync(run)
        return await self.host.call(run)

    async def step(self, fn: Callable[[], T], *, in_thread: bool = False) -> T:
        """Run a step of this work that needs no transaction (streaming a request body
        in while no database lock is held); its failure is audited under the action
        the work's previous transaction declared."""

        def run() -> T:
            try:
                return fn()
            except AuditWriteFailed:
                raise
            except HokanError as exc:
                self._audit_failure(self.declared, exc)
                raise

        if in_thread:
            return await to_thread.run_sync(run)
        return await self.host.call(run)

    def bind(self, fn: Callable[[Session], T], *, system: bool = False) -> Callable[[], T]:
        """The blocking callable that does the work (for jobs and the CLI: call it)."""
        host = self.host
        tenant = None if system else self.principal.tenant_id

        def run() -> T:
            session: Session | None = None
            kept: HokanError | None = None
            try:
                with host.db.session(write=True, tenant=tenant, system=system) as s:
                    session = s
                    try:
                        result = fn(s)
                    except HokanError as exc:
                        if not exc.keeps_work:
                            raise
                        kept = exc  # committed below, then audited and raised
                    self.declared = declared(s)
                if kept is not None:
                    raise kept
                return result
            except AuditWriteFailed:
                raise
            except HokanError as exc:
                self._audit_failure(declared(session) if session is not None else None, exc)
                raise

        return run

    def _audit_failure(self, found: Declared | None, exc: HokanError) -> None:
        try:
            self.host.record_failure(self.principal, found or self.fallback, exc)
        except Exception as audit_exc:  # the caller gets a clear error, never silence
            log.error(
                "failure not audited",
                extra={"fields": {"exc_type": type(audit_exc).__name__}},
            )
            raise AuditWriteFailed from audit_exc
