"""Typed dependencies that authenticate, admit and authorise a request (IAM-2, EDGE-1/2).

Routes declare what they need (``work: ReadRecords``, ``principal: RecordsReader``);
nothing checks credentials inline in a handler, and every authenticated route
goes through :func:`admitted`: the credentials are checked, then the edge
admits the caller (terminal certificate of the principal's own tenant, the
tenant's network allow-list, tenant status). How credentials are checked is
the host's (``hokan.edge.authentication``, wired by the composition root), so
this kit imports no domain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hokan.httpkit.context import Host
from hokan.httpkit.work import Work
from hokan.kit.actions import Declared
from hokan.kit.errors import HokanError
from hokan.principals import ANONYMOUS, Principal, Role, Scope
from hokan.principals.errors import (
    InsufficientScope,
    OperatorRoleRequired,
    PasswordChangeRequired,
    TenantTerminated,
)
from hokan.principals.operator import OperatorIdentity

# Declares the scheme in OpenAPI (the docs' "Authorize" button); parsing is the host's.
_bearer = HTTPBearer(
    auto_error=False, scheme_name="APIToken", description="A tenant API token: hk_…"
)
BearerDoc = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


def _host(request: Request) -> Host:
    host: Host = request.app.state.runtime
    return host


def _route_target(request: Request) -> str:
    return request.url.path[:200]


async def admitted(
    request: Request, *, password_change: bool = False, export: bool = False
) -> Principal:
    """The one way a route gets its caller: authenticated, then admitted by the edge.
    Refusals are audited by the host.

    A session that must first change its password (someone else set it) is refused
    here, on every route, unless the route is one such a session may use
    (``password_change``: :data:`PasswordChangeWork`) — deny by default (ADR 0017).
    """
    host = _host(request)
    principal = await host.authenticate(request)
    await host.admit(request, principal)
    if principal.tenant_terminated and not export:
        # A terminated tenant may only export until its data is disposed of (LIFE-2):
        # refused here, so no route can forget it.
        refused = TenantTerminated()
        declared = Declared("auth.tenant_terminated", "route", _route_target(request))
        await _deny(request, principal, declared, refused)
        raise refused
    if principal.password_change_required and not password_change:
        denied = PasswordChangeRequired()
        declared = Declared("auth.password_change_required", "route", _route_target(request))
        await _deny(request, principal, declared, denied)
        raise denied
    return principal


async def authenticated(request: Request, _doc: BearerDoc) -> Principal:
    """Any valid credentials of an active tenant."""
    return await admitted(request)


async def password_changer(request: Request, _doc: BearerDoc) -> Principal:
    """Any valid credentials, a session that must first change its password included:
    only for the routes such a session may use (change it, log out)."""
    return await admitted(request, password_change=True)


Authenticated = Annotated[Principal, Depends(authenticated)]


async def _deny(
    request: Request,
    principal: Principal,
    declared: Declared,
    exc: HokanError,
    detail: dict[str, Any] | None = None,
) -> None:
    host = _host(request)

    def write() -> None:
        host.record_failure(principal, declared, exc, detail)

    await host.call(write)


def requires(scope: Scope, *, export: bool = False) -> Callable[..., Awaitable[Principal]]:
    """Valid, admitted credentials carrying ``scope`` (``export``: a terminated tenant's
    callers too — the export routes only)."""

    async def check(request: Request, _doc: BearerDoc) -> Principal:
        principal = await admitted(request, export=export)
        if not principal.has_scope(scope):
            denied = InsufficientScope(f"requires scope {scope.value}")
            # A refused permission is a security event (AUD-1): on the caller's chain.
            declared = Declared("auth.scope_denied", "route", _route_target(request))
            await _deny(request, principal, declared, denied)
            raise denied
        return principal

    check.__name__ = f"requires_{scope.name}" + ("_export" if export else "")
    return check


RecordsReader = Annotated[Principal, Depends(requires(Scope.records_read))]
RecordsWriter = Annotated[Principal, Depends(requires(Scope.records_write))]
CollectionsManager = Annotated[Principal, Depends(requires(Scope.collections_manage))]
AuditReader = Annotated[Principal, Depends(requires(Scope.audit_read))]
UsersManager = Annotated[Principal, Depends(requires(Scope.users_manage))]
GrantsManager = Annotated[Principal, Depends(requires(Scope.grants_manage))]


def work_of(request: Request, principal: Principal, *, system: bool = False) -> Work:
    """The unit of work of this request, acting for ``principal``."""
    route = request.scope.get("route")
    name = getattr(route, "name", "unknown")
    fallback = Declared(f"http.{name}", "route", _route_target(request))
    return Work(_host(request), principal, fallback, system=system)


def _work_for(
    check: Callable[..., Awaitable[Principal]], name: str
) -> Callable[..., Awaitable[Work]]:
    # A default, not Annotated: with postponed annotations FastAPI could not see ``check``.
    async def make(request: Request, principal: Principal = Depends(check)) -> Work:
        return work_of(request, principal)

    make.__name__ = f"work_{name}"
    return make


def work_requiring(scope: Scope | None) -> Callable[..., Awaitable[Work]]:
    """A dependency giving the request's unit of work for an admitted caller with ``scope``."""
    check = requires(scope) if scope is not None else authenticated
    return _work_for(check, scope.name if scope else "authenticated")


AuthenticatedWork = Annotated[Work, Depends(work_requiring(None))]
# The one exception to the password-change restriction: changing it, logging out.
PasswordChangeWork = Annotated[Work, Depends(_work_for(password_changer, "password_change"))]
ReadRecords = Annotated[Work, Depends(work_requiring(Scope.records_read))]
WriteRecords = Annotated[Work, Depends(work_requiring(Scope.records_write))]
ManageCollections = Annotated[Work, Depends(work_requiring(Scope.collections_manage))]
ReadAudit = Annotated[Work, Depends(work_requiring(Scope.audit_read))]
ManageUsers = Annotated[Work, Depends(work_requiring(Scope.users_manage))]
ManageGrants = Annotated[Work, Depends(work_requiring(Scope.grants_manage))]
# The tenant's export (LIFE-4): the one route a terminated tenant's admin still reaches.
ExportTenant = Annotated[
    Work, Depends(_work_for(requires(Scope.users_manage, export=True), "export"))
]
ExportVault = Annotated[
    Work, Depends(_work_for(requires(Scope.vault_read, export=True), "export_vault"))
]


async def anonymous_work(request: Request) -> Work:
    """The unit of work of a route that runs before any principal exists (a login):
    it acts as the anonymous principal, outside any tenant (the system scope), and
    its failures are audited on the system chain like every other refused credential."""
    return work_of(request, ANONYMOUS, system=True)


AnonymousWork = Annotated[Work, Depends(anonymous_work)]


# -- operators' own routes --------------------------------------------------------


def operator_with(*roles: Role) -> Callable[..., Awaitable[OperatorIdentity]]:
    """An operator's own session (operator routes), admitted from an operator
    terminal, holding one of ``roles`` if any are named."""

    async def check(request: Request) -> OperatorIdentity:
        identity = await _host(request).authenticate_operator(request)
        if roles and not identity.principal.roles & set(roles):
            needs = ", ".join(sorted(roles))
            denied = OperatorRoleRequired(f"requires one of: {needs}")
            declared = Declared("operator.role_denied", "route", _route_target(request))
            detail = {"needs": sorted(r.value for r in roles)}
            await _deny(request, identity.principal, declared, denied, detail)
            raise denied
        return identity

    check.__name__ = "operator_" + ("_or_".join(r.value for r in roles) or "any")
    return check


AnyOperator = Annotated[OperatorIdentity, Depends(operator_with())]
OperationsManager = Annotated[OperatorIdentity, Depends(operator_with(Role.operations_manager))]
OperatorSupervisor = Annotated[
    OperatorIdentity,
    Depends(operator_with(Role.general_manager, Role.operations_manager, Role.auditor)),
]
Auditor = Annotated[OperatorIdentity, Depends(operator_with(Role.auditor))]


class OperatorWork(Work):
    """An operator's own unit of work (system scope), with the operator's identity."""

    __slots__ = ("identity",)

    def __init__(self, request: Request, identity: OperatorIdentity) -> None:
        base = work_of(request, identity.principal, system=True)
        super().__init__(base.host, base.principal, base.fallback, system=True)
        self.identity = identity


def operator_work(*roles: Role) -> Callable[..., Awaitable[OperatorWork]]:
    """A dependency giving an admitted operator's unit of work (holding one of ``roles``)."""
    check = operator_with(*roles)

    async def make(request: Request, identity: OperatorIdentity = Depends(check)) -> OperatorWork:
        return OperatorWork(request, identity)

    make.__name__ = "work_" + check.__name__
    return make


AnyOperatorWork = Annotated[OperatorWork, Depends(operator_work())]
OperationsManagerWork = Annotated[OperatorWork, Depends(operator_work(Role.operations_manager))]
OperatorSupervisorWork = Annotated[
    OperatorWork,
    Depends(operator_work(Role.general_manager, Role.operations_manager, Role.auditor)),
]
AuditorWork = Annotated[OperatorWork, Depends(operator_work(Role.auditor))]
