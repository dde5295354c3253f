"""Personal API tokens (IAM-5): a user issues scoped, expiring tokens that act for them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import Response

from hokan.httpkit.auth import AuthenticatedWork
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.identity.tokens import PersonalTokens
from hokan.kit.clock import iso
from hokan.models import ApiToken

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


@router.post("", status_code=201, summary="Issue a personal API token")
async def create_token(body: TokenIn, work: AuthenticatedWork) -> Response:
    """The token acts for you with at most your own permissions, expires, and dies with your
    account. The secret is returned once."""
    personal = work.resolve(PersonalTokens)
    issued = await work(
        lambda s: personal.issue(s, work.principal, body.name, body.scopes, days=body.days)
    )
    return JsonResponse({**token_json(issued.token), "token": issued.secret}, status_code=201)


@router.get("", summary="Your personal API tokens")
async def list_tokens(work: AuthenticatedWork) -> Response:
    personal = work.resolve(PersonalTokens)
    rows = await work(lambda s: [token_json(t) for t in personal.list_tokens(s, work.principal)])
    return JsonResponse(rows)


@router.delete("/{prefix}", summary="Revoke one of your tokens")
async def revoke_token(prefix: str, work: AuthenticatedWork) -> Response:
    personal = work.resolve(PersonalTokens)
    return JsonResponse(
        await work(lambda s: token_json(personal.revoke(s, work.principal, prefix)))
    )
