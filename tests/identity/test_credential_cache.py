"""The authentication cache (ADR 0027): hits skip the token lookup; every change that
can revoke a credential reaches every process within HOKAN_AUTH_CACHE_SECONDS."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from hokan.identity import tokens
from hokan.identity.credential_cache import CredentialCache
from hokan.identity.errors import InvalidToken
from hokan.models import ApiToken, AuthGeneration, Tenant, TenantStatus
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.conftest import TenantHandle

URL = "/api/v1/collections/staff/records/r1"


@contextmanager
def _statements(runtime: Runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def grab(_c: object, _cur: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(runtime.db.engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", grab)


def _generation(runtime: Runtime) -> int:
    with runtime.db.engine.connect() as conn:
        return int(conn.execute(select(AuthGeneration.value)).scalar_one_or_none() or 0)


def _refused_within_bound(client: TestClient, t: TenantHandle, runtime: Runtime) -> None:
    """Refused at the latest once the process re-read the generation (the bound)."""
    time.sleep(runtime.settings.auth_cache_seconds + 0.05)
    assert client.get(URL, headers=t.headers).status_code in (401, 403)


def test_a_cached_token_is_not_looked_up_again(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    assert client.put(URL, json={"a": 1}, headers=t.headers).status_code == 201
    with _statements(runtime) as seen:
        for _ in range(3):
            assert client.get(URL, headers=t.headers).status_code == 200
    assert not [s for s in seen if "api_tokens" in s], seen
    # A wrong token is never served from the cache: looked up (and refused) every time.
    wrong = {"Authorization": "Bearer " + t.token[:-4] + "AAAA"}
    with _statements(runtime) as seen:
        assert client.get(URL, headers=wrong).status_code == 401
        assert client.get(URL, headers=wrong).status_code == 401
    assert len([s for s in seen if "FROM api_tokens" in s]) == 2


def test_revocation_applies_at_once_here_and_within_the_bound_elsewhere(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    assert client.put(URL, json={"a": 1}, headers=t.headers).status_code == 201
    assert client.get(URL, headers=t.headers).status_code == 200  # cached now
    # Another process's cache (its own, warmed with the same token).
    elsewhere = CredentialCache(runtime.db, runtime.settings.auth_cache_seconds, 100)
    assert tokens.authenticate(runtime.db, t.token, elsewhere).tenant_id == t.id
    before = _generation(runtime)
    with runtime.db.session(write=True, system=True) as s:
        tokens.revoke(s, t.id, tokens.public_prefix(t.token), SYSTEM)
    assert _generation(runtime) == before + 1
    # This process made the change: refused at once.
    assert client.get(URL, headers=t.headers).status_code == 401
    # Another process: at the latest once it re-read the generation (the bound).
    time.sleep(runtime.settings.auth_cache_seconds + 0.05)
    with pytest.raises(InvalidToken):
        tokens.authenticate(runtime.db, t.token, elsewhere)


def test_a_suspended_tenant_is_refused_within_the_bound(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    assert client.put(URL, json={"a": 1}, headers=t.headers).status_code == 201
    with runtime.db.session(write=True, system=True) as s:
        s.execute(update(Tenant).where(Tenant.id == t.id).values(status=TenantStatus.suspended))
    _refused_within_bound(client, t, runtime)


def test_bookkeeping_updates_do_not_move_the_generation(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    before = _generation(runtime)
    with runtime.db.session(write=True, system=True) as s:
        s.execute(update(ApiToken).where(ApiToken.tenant_id == t.id).values(name="renamed"))
        s.execute(update(Tenant).where(Tenant.id == t.id).values(name="改名 株式会社"))
    assert _generation(runtime) == before
