"""Typed dependencies of the vault routes: a clerk (or the tenant's API client) or nobody.

The caller is authenticated and admitted by the edge like on every other route
(:func:`hokan.httpkit.auth.admitted`: terminal certificate, network allow-list,
tenant status), then must be a vault accessor (MYN-4). A refusal is audited under
the route's own action name (``vault.…``), so the record of use shows failed
attempts too. The service checks again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from hokan.httpkit.auth import BearerDoc, admitted, work_of
from hokan.httpkit.context import Host
from hokan.httpkit.work import Work
from hokan.kit.actions import Declared
from hokan.kit.errors import HokanError
from hokan.principals.errors import MissingCredentials
from hokan.principals.principal import ANONYMOUS, Principal, Scope
from hokan.vault.access import TARGET, vault_tenant
from hokan.vault.errors import VaultAccessDenied


async def _refused(request: Request, principal: Principal, exc: HokanError) -> None:
    """Audit a refusal under the route's own action (``vault.…``)."""
    host: Host = request.app.state.runtime
    action = getattr(request.scope.get("route"), "name", "") or "vault.access"
    declared = Declared(action, TARGET, str(request.path_params.get("entry_id", "")))
    await host.call(lambda: host.record_failure(principal, declared, exc))


def vault_work(scope: Scope) -> Callable[..., Awaitable[Work]]:
    """The unit of work of an admitted vault accessor holding ``scope``."""

    async def check(request: Request, _doc: BearerDoc) -> Work:
        try:
            principal = await admitted(request)
        except MissingCredentials as exc:  # even an anonymous attempt is on the record of use
            await _refused(request, ANONYMOUS, exc)
            raise
        try:
            vault_tenant(principal, scope)
        except VaultAccessDenied as exc:
            await _refused(request, principal, exc)
            raise
        return work_of(request, principal)

    check.__name__ = f"vault_work_{scope.name}"
    return check


VaultReader = Annotated[Work, Depends(vault_work(Scope.vault_read))]
VaultWriter = Annotated[Work, Depends(vault_work(Scope.vault_write))]
