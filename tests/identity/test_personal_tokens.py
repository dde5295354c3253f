"""Personal API tokens (IAM-5): scoped to the user's own permissions, expiring, hashed
at rest, and dead with their user."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.identity import users
from hokan.kit import crypto
from hokan.models import ApiToken, UserStatus
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.conftest import TenantHandle
from tests.identity.test_operators import admin_session


def test_personal_token_lifecycle(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    session = admin_session(client, runtime, t)
    r = client.post(
        "/api/v1/tokens",
        json={"name": "給与連携", "scopes": ["records:read"], "days": 30},
        headers=session,
    )
    assert r.status_code == 201, r.text
    secret, prefix = r.json()["token"], r.json()["prefix"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/collections", headers=bearer).status_code == 200
    # Only the hash is stored; the token reads but cannot write (its scope).
    with runtime.db.session(system=True) as s:
        row = s.scalars(select(ApiToken).where(ApiToken.prefix == prefix)).one()
        assert row.token_hash == crypto.sha256_hex(secret.encode()) and secret not in str(
            row.__dict__
        )
    put = client.put("/api/v1/collections/c/records/r", json={}, headers=bearer)
    assert put.json()["error"] == "insufficient_scope"
    # Listed among the user's own, never another user's or the integration tokens.
    listed = client.get("/api/v1/tokens", headers=session).json()
    assert [x["prefix"] for x in listed] == [prefix]
    # The token dies with its user.
    with runtime.db.session(write=True, system=True) as s:
        row = s.scalars(select(ApiToken).where(ApiToken.prefix == prefix)).one()
        assert row.user_id is not None
        from hokan.models import User

        user = s.get(User, row.user_id)
        assert user is not None
        users.set_status(s, t.id, user.serial, UserStatus.disabled, SYSTEM)
    assert client.get("/api/v1/collections", headers=bearer).json()["error"] == "invalid_token"


def test_personal_token_cannot_exceed_the_user_and_revokes(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    session = admin_session(client, runtime, t)
    too_much = client.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["grants:manage"]}, headers=session
    )
    assert too_much.json()["error"] == "invalid_scope"  # consent is never a token's
    r = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["audit:read"]}, headers=session)
    secret, prefix = r.json()["token"], r.json()["prefix"]
    # Integration tokens cannot mint personal tokens.
    assert (
        client.post(
            "/api/v1/tokens", json={"name": "y", "scopes": ["records:read"]}, headers=t.headers
        ).status_code
        == 403
    )
    assert client.delete(f"/api/v1/tokens/{prefix}", headers=session).status_code == 200
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/audit/events", headers=bearer).status_code == 401
