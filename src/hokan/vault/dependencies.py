"""Typed dependencies of the vault routes: a clerk (or the tenant's API client) or nobody.

The refusal is audited under the route's own action name (``vault.…``), so the
record of use shows failed attempts too. The service checks again (MYN-4).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated

from fastapi import Depends, Request

from hokan.audit.errors import AuditWriteFailed
from hokan.audit.service import record_failure
from hokan.identity.dependencies import BearerDoc, _authenticate
from hokan.identity.errors import MissingCredentials
from hokan.kit.errors import HokanError
from hokan.principals.principal import ANONYMOUS, Principal, Scope
from hokan.runtime import Runtime
from hokan.vault.access import TARGET, vault_tenant
from hokan.vault.errors import VaultAccessDenied

log = logging.getLogger("hokan.vault")


async def _refused(request: Request, principal: Principal, exc: HokanError) -> None:
    runtime: Runtime = request.app.state.runtime
    action = getattr(request.scope.get("route"), "name", "") or "vault.access"
    target = str(request.path_params.get("entry_id", ""))
    try:
        await runtime.call(
            partial(record_failure, runtime.db, principal, action, TARGET, target, exc)
        )
    except Exception as audit_exc:  # fail closed, like audited(): no unrecorded refusal
        log.error("refusal not audited", extra={"fields": {"exc_type": type(audit_exc).__name__}})
        raise AuditWriteFailed from audit_exc


def vault_access(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    async def check(request: Request, _doc: BearerDoc) -> Principal:
        try:
            principal = await _authenticate(request)
        except MissingCredentials as exc:
            await _refused(request, ANONYMOUS, exc)
            raise
        try:
            vault_tenant(principal, scope)
        except VaultAccessDenied as exc:
            await _refused(request, principal, exc)
            raise
        return principal

    check.__name__ = f"vault_access_{scope.name}"
    return check


VaultReader = Annotated[Principal, Depends(vault_access(Scope.vault_read))]
VaultWriter = Annotated[Principal, Depends(vault_access(Scope.vault_write))]
