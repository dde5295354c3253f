"""Typed FastAPI dependencies that authenticate and authorise a request.

Routes declare what they need (``principal: RecordsReader``); nothing checks
credentials inline in a handler. Every router is authenticated unless it is
explicitly public.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hokan.audit import service as audit
from hokan.audit.calls import audited
from hokan.edge.binding import admit_principal
from hokan.httpkit.work import Work
from hokan.identity import grants, operator_auth, sessions, tokens
from hokan.identity.errors import InsufficientScope, MissingCredentials, OperatorRoleRequired
from hokan.identity.operator_auth import OperatorIdentity
from hokan.identity.principal import ANONYMOUS, Principal, Scope
from hokan.identity.roles import Role
from hokan.kit.actions import Declared
from hokan.runtime import Runtime

# Declares the scheme in OpenAPI (the docs' "Authorize" button); parsing is ours.
_bearer = HTTPBearer(
    auto_error=False, scheme_name="APIToken", description="A tenant API token: hk_…"
)
BearerDoc = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


async def _operator_identity(request: Request, runtime: Runtime, cookie: str) -> OperatorIdentity:
    return await audited(
        runtime,
        ANONYMOUS,
        "auth.operator_session",
        "session",
        "",
        partial(
            operator_auth.authenticate,
            runtime.db,
            runtime.settings,
            cookie,
            request.method,
            request.headers.get(sessions.CSRF_HEADER),
        ),
    )


async def _authenticate(request: Request) -> Principal:
    runtime: Runtime = request.app.state.runtime
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    operator_cookie = request.cookies.get(operator_auth.OPERATOR_COOKIE)
    if not header and not cookie and operator_cookie:
        # An operator in a tenant's environment: only under that tenant's consent
        # grant, named by X-Hokan-Tenant (OPS-1); refused and audited otherwise.
        identity = await _operator_identity(request, runtime, operator_cookie)
        principal = await runtime.call(
            partial(
                grants.enter_tenant,
                runtime.db,
                identity,
                request.headers.get(grants.TENANT_HEADER, ""),
            )
        )
        request.state.principal = principal
        return principal
    if not header and cookie:
        # A browser session (the console): CSRF-checked on writes, bound to its certificate.
        principal = await audited(
            runtime,
            ANONYMOUS,
            "auth.session",
            "session",
            "",
            partial(
                sessions.authenticate,
                runtime.db,
                cookie,
                request.method,
                request.headers.get(sessions.CSRF_HEADER),
            ),
        )
        runtime.ips.check_principal(principal)
        request.state.principal = principal
        return principal
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise MissingCredentials
    # A rejected token is a security event: audited (on the system chain, since
    # the caller's tenant is unknown) by the same call that checks it.
    principal = await audited(
        runtime,
        ANONYMOUS,
        "auth.token",
        "token",
        tokens.public_prefix(credentials.strip()),
        partial(tokens.authenticate, runtime.db, credentials.strip()),
    )
    runtime.ips.check_principal(principal)  # per-account and per-tenant rates (EDGE-4)
    request.state.principal = principal
    return principal


async def admitted(request: Request) -> Principal:
    """The one way a route gets its caller: authenticated, then admitted by the edge
    (the terminal certificate is of the principal's tenant and the tenant allows the
    network: EDGE-1, EDGE-2). Refusals are audited."""
    principal = await _authenticate(request)
    await admit_principal(request.app.state.runtime, request, principal)
    return principal


async def authenticated(request: Request, _doc: BearerDoc) -> Principal:
    """Any valid credentials of an active tenant."""
    return await admitted(request)


Authenticated = Annotated[Principal, Depends(authenticated)]


def requires(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """Valid credentials carrying ``scope``."""

    async def check(request: Request, _doc: BearerDoc) -> Principal:
        principal = await admitted(request)
        if not principal.has_scope(scope):
            denied = InsufficientScope(f"requires scope {scope.value}")
            runtime: Runtime = request.app.state.runtime
            # A refused permission is a security event (AUD-1): on the caller's chain.
            await runtime.call(
                partial(
                    audit.record_failure,
                    runtime.db,
                    principal,
                    "auth.scope_denied",
                    "route",
                    request.url.path[:200],
                    denied,
                )
            )
            raise denied
        return principal

    check.__name__ = f"requires_{scope.name}"
    return check


def work_of(request: Request, principal: Principal, *, system: bool = False) -> Work:
    """The unit of work of this request, acting for ``principal``."""
    route = request.scope.get("route")
    name = getattr(route, "name", "unknown")
    fallback = Declared(f"http.{name}", "route", request.url.path[:200])
    return Work(request.app.state.runtime, principal, fallback, system=system)


def work_requiring(scope: Scope | None) -> Callable[..., Awaitable[Work]]:
    """A dependency giving the request's unit of work for an admitted caller with ``scope``."""
    check = requires(scope) if scope is not None else authenticated

    # A default, not Annotated: with postponed annotations FastAPI could not see ``check``.
    async def make(request: Request, principal: Principal = Depends(check)) -> Work:
        return work_of(request, principal)

    make.__name__ = f"work_{scope.name if scope else 'authenticated'}"
    return make


AuthenticatedWork = Annotated[Work, Depends(work_requiring(None))]
ReadRecords = Annotated[Work, Depends(work_requiring(Scope.records_read))]
WriteRecords = Annotated[Work, Depends(work_requiring(Scope.records_write))]
ManageCollections = Annotated[Work, Depends(work_requiring(Scope.collections_manage))]
ReadAudit = Annotated[Work, Depends(work_requiring(Scope.audit_read))]
ManageUsers = Annotated[Work, Depends(work_requiring(Scope.users_manage))]
ManageGrants = Annotated[Work, Depends(work_requiring(Scope.grants_manage))]

RecordsReader = Annotated[Principal, Depends(requires(Scope.records_read))]
RecordsWriter = Annotated[Principal, Depends(requires(Scope.records_write))]
CollectionsManager = Annotated[Principal, Depends(requires(Scope.collections_manage))]
AuditReader = Annotated[Principal, Depends(requires(Scope.audit_read))]
UsersManager = Annotated[Principal, Depends(requires(Scope.users_manage))]
GrantsManager = Annotated[Principal, Depends(requires(Scope.grants_manage))]


def operator_with(*roles: Role) -> Callable[..., Awaitable[OperatorIdentity]]:
    """An operator's own session (operator routes), holding one of ``roles`` if any are named."""

    async def check(request: Request) -> OperatorIdentity:
        runtime: Runtime = request.app.state.runtime
        cookie = request.cookies.get(operator_auth.OPERATOR_COOKIE)
        if not cookie:
            raise MissingCredentials
        identity = await _operator_identity(request, runtime, cookie)
        await admit_principal(runtime, request, identity.principal)  # an operator terminal
        request.state.principal = identity.principal
        if roles and not identity.principal.roles & set(roles):

            def deny() -> None:
                with runtime.db.session(write=True, system=True) as s:
                    audit.record(
                        s,
                        identity.principal,
                        "operator.role_denied",
                        "route",
                        request.url.path[:200],
                        result=audit.DENIED,
                        detail={"needs": sorted(r.value for r in roles)},
                    )

            await runtime.call(deny)
            raise OperatorRoleRequired(f"requires one of: {', '.join(sorted(roles))}")
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
