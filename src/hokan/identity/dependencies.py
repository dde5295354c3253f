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

from hokan.audit.calls import audited
from hokan.identity import sessions, tokens
from hokan.identity.errors import InsufficientScope, MissingCredentials
from hokan.identity.principal import ANONYMOUS, Principal, Scope
from hokan.runtime import Runtime

# Declares the scheme in OpenAPI (the docs' "Authorize" button); parsing is ours.
_bearer = HTTPBearer(
    auto_error=False, scheme_name="APIToken", description="A tenant API token: hk_…"
)
BearerDoc = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


async def _authenticate(request: Request) -> Principal:
    runtime: Runtime = request.app.state.runtime
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
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


async def authenticated(request: Request, _doc: BearerDoc) -> Principal:
    """Any valid credentials of an active tenant."""
    return await _authenticate(request)


Authenticated = Annotated[Principal, Depends(authenticated)]


def requires(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """Valid credentials carrying ``scope``."""

    async def check(request: Request, _doc: BearerDoc) -> Principal:
        principal = await _authenticate(request)
        if not principal.has_scope(scope):
            raise InsufficientScope(f"requires scope {scope.value}")
        return principal

    check.__name__ = f"requires_{scope.name}"
    return check


RecordsReader = Annotated[Principal, Depends(requires(Scope.records_read))]
RecordsWriter = Annotated[Principal, Depends(requires(Scope.records_write))]
CollectionsManager = Annotated[Principal, Depends(requires(Scope.collections_manage))]
AuditReader = Annotated[Principal, Depends(requires(Scope.audit_read))]
UsersManager = Annotated[Principal, Depends(requires(Scope.users_manage))]
