"""Who is calling: credentials to a principal, then the edge's admission (EDGE-1, EDGE-2).

The composition root wires these into the host (``Runtime.authenticate`` …), and
the typed dependencies of :mod:`hokan.httpkit.auth` call them: one path for
every authenticated route. Rejected credentials are security events, audited
(on the system chain while the caller's tenant is unknown).
"""

from __future__ import annotations

from functools import partial

from starlette.requests import Request

from hokan.audit.calls import audited
from hokan.edge.binding import admit_principal
from hokan.edge.host import EdgeHost
from hokan.identity import grants, operator_auth, sessions, tokens
from hokan.principals import ANONYMOUS, Principal
from hokan.principals.errors import MissingCredentials
from hokan.principals.operator import OperatorIdentity


async def _operator_identity(host: EdgeHost, request: Request, cookie: str) -> OperatorIdentity:
    return await audited(
        host,
        ANONYMOUS,
        "auth.operator_session",
        "session",
        "",
        partial(
            operator_auth.authenticate,
            host.db,
            host.settings,
            cookie,
            request.method,
            request.headers.get(sessions.CSRF_HEADER),
        ),
    )


async def authenticate(host: EdgeHost, request: Request) -> Principal:
    """The principal of a tenant's caller: an API token, a user's session, or an
    operator inside the tenant under its consent grant (OPS-1)."""
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    operator_cookie = request.cookies.get(operator_auth.OPERATOR_COOKIE)
    if not header and not cookie and operator_cookie:
        # An operator in a tenant's environment: only under that tenant's consent
        # grant, named by X-Hokan-Tenant (OPS-1); refused and audited otherwise.
        identity = await _operator_identity(host, request, operator_cookie)
        principal = await host.call(
            partial(
                grants.enter_tenant,
                host.db,
                identity,
                request.headers.get(grants.TENANT_HEADER, ""),
            )
        )
        request.state.principal = principal
        return principal
    if not header and cookie:
        # A browser session (the console): CSRF-checked on writes, bound to its certificate.
        principal = await audited(
            host,
            ANONYMOUS,
            "auth.session",
            "session",
            "",
            partial(
                sessions.authenticate,
                host.db,
                cookie,
                request.method,
                request.headers.get(sessions.CSRF_HEADER),
            ),
        )
        host.ips.check_principal(principal)
        request.state.principal = principal
        return principal
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise MissingCredentials
    # A rejected token is a security event: audited (on the system chain, since
    # the caller's tenant is unknown) by the same call that checks it.
    principal = await audited(
        host,
        ANONYMOUS,
        "auth.token",
        "token",
        tokens.public_prefix(credentials.strip()),
        partial(tokens.authenticate, host.db, credentials.strip(), host.credential_cache),
    )
    host.ips.check_principal(principal)  # per-account and per-tenant rates (EDGE-4)
    request.state.principal = principal
    return principal


async def admit(host: EdgeHost, request: Request, principal: Principal) -> None:
    await admit_principal(host, request, principal)


async def authenticate_operator(host: EdgeHost, request: Request) -> OperatorIdentity:
    """An operator's own session (operator routes), admitted from an operator terminal."""
    cookie = request.cookies.get(operator_auth.OPERATOR_COOKIE)
    if not cookie:
        raise MissingCredentials
    identity = await _operator_identity(host, request, cookie)
    await admit_principal(host, request, identity.principal)  # an operator terminal
    request.state.principal = identity.principal
    return identity
