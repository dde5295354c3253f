"""Personal API tokens (IAM-5): a user issues scoped, expiring tokens that act for them."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import Response

from hokan.audit import service as audit
from hokan.audit.calls import audited
from hokan.edge.context import RuntimeDep
from hokan.httpkit.auth import Authenticated
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.identity import tokens
from hokan.identity.errors import InsufficientScope
from hokan.identity.repository import TokenRepository
from hokan.kit.clock import iso
from hokan.kit.errors import Forbidden
from hokan.models import ApiToken
from hokan.principals.principal import Principal, PrincipalKind

router = Router(prefix="/api/v1/tokens", tags=["tokens"])


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=16)
    days: int | None = Field(default=None, ge=1, le=365)


def token_json(t: ApiToken) -> dict[str, Any]:
    return {
        "prefix": t.prefix,
        "name": t.name,
        "scopes": t.scopes,
        "created_at": iso(t.created_at),
        "expires_at": iso(t.expires_at),
        "revoked_at": iso(t.revoked_at) if t.revoked_at else None,
        "last_used_at": iso(t.last_used_at) if t.last_used_at else None,
    }


def _user(principal: Principal) -> tuple[uuid.UUID, uuid.UUID]:
    if principal.kind is not PrincipalKind.user or principal.tenant_id is None:
        raise Forbidden("personal tokens are issued by a logged-in user")
    return principal.tenant_id, uuid.UUID(principal.id)


@router.post("", status_code=201, summary="Issue a personal API token")
async def create_token(body: TokenIn, principal: Authenticated, runtime: RuntimeDep) -> Response:
    """The token acts for you with at most your own permissions, expires, and dies with your
    account. The secret is returned once."""

    def work() -> dict[str, Any]:
        tenant_id, user_id = _user(principal)
        wanted = tokens.validate_scopes(body.scopes)
        if not set(wanted) <= principal.scopes:
            raise InsufficientScope("a token cannot hold more than your own permissions")
        days = body.days or runtime.settings.token_default_days
        with runtime.db.session(write=True, tenant=tenant_id) as s:
            issued = tokens.issue(s, tenant_id, body.name, wanted, days, principal, user_id)
            return {**token_json(issued.token), "token": issued.secret}

    data = await audited(runtime, principal, "token.create", "token", "", work)
    return JsonResponse(data, status_code=201)


@router.get("", summary="Your personal API tokens")
async def list_tokens(principal: Authenticated, runtime: RuntimeDep) -> Response:
    def work() -> list[dict[str, Any]]:
        tenant_id, user_id = _user(principal)
        with runtime.db.session(write=True, tenant=tenant_id) as s:
            rows = TokenRepository(s).of_user(tenant_id, user_id)
            audit.record(s, principal, "token.list", "token", "*")
            return [token_json(t) for t in rows]

    return JsonResponse(await audited(runtime, principal, "token.list", "token", "*", work))


@router.delete("/{prefix}", summary="Revoke one of your tokens")
async def revoke_token(prefix: str, principal: Authenticated, runtime: RuntimeDep) -> Response:
    def work() -> dict[str, Any]:
        tenant_id, user_id = _user(principal)
        with runtime.db.session(write=True, tenant=tenant_id) as s:
            return token_json(tokens.revoke(s, tenant_id, prefix, principal, user_id))

    return JsonResponse(
        await audited(runtime, principal, "token.revoke", "token", prefix[:20], work)
    )
