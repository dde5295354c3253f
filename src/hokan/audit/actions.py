"""Services declare their audited actions here (see :mod:`hokan.kit.actions`).

``@action("records.read", "record", target=lambda c, k: f"{c}/{k}")`` on a
service method ``(self, session, principal, *args)`` declares the action on
the session before the method runs; :func:`succeeded` writes the success entry
of whatever was declared last. The unit of work writes the failure entry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.kit.actions import declare, declared
from hokan.principals.principal import Principal

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")

Target = Callable[..., str] | str


def action(
    name: str, target_type: str, target: Target = ""
) -> Callable[
    [Callable[Concatenate[S, Session, Principal, P], R]],
    Callable[Concatenate[S, Session, Principal, P], R],
]:
    """Declare ``name`` on the session whenever the decorated service method runs.

    ``target`` is the target id, or a function of the method's arguments after
    ``(session, principal)`` that gives it.
    """

    def wrap(
        fn: Callable[Concatenate[S, Session, Principal, P], R],
    ) -> Callable[Concatenate[S, Session, Principal, P], R]:
        def run(
            self: S, session: Session, principal: Principal, /, *a: P.args, **kw: P.kwargs
        ) -> R:
            tid = target(*a, **kw) if callable(target) else target
            declare(session, name, target_type, tid)
            return fn(self, session, principal, *a, **kw)

        functools.update_wrapper(run, fn)
        run.__hokan_action__ = name  # type: ignore[attr-defined]
        return run

    return wrap


def succeeded(
    session: Session,
    principal: Principal,
    *,
    detail: Mapping[str, Any] | None = None,
    target_id: str | None = None,
) -> None:
    """Write the success entry of the declared action, in the work's transaction."""
    found = declared(session)
    if found is None:
        raise RuntimeError("no action declared for this unit of work")
    audit.record(
        session,
        principal,
        found.action,
        found.target_type,
        found.target_id if target_id is None else target_id,
        detail=detail,
    )
