"""Vault fixtures: clerks (tokens and users), valid numbers, small documents."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from hokan.identity import sessions
from hokan.models import Tenant
from hokan.principals.principal import SYSTEM, Scope
from hokan.runtime import Runtime
from hokan.vault.numbers import individual_check_digit
from tests.conftest import TenantHandle, create_user

PASSWORD = "春の小川はさらさら行くよ"
VAULT_SCOPES = frozenset({Scope.vault_read, Scope.vault_write})
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def valid_number(rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    first = "".join(rng.choice("0123456789") for _ in range(11))
    return first + str(individual_check_digit(first))


@pytest.fixture
def clerk_token(make_tenant: Callable[..., TenantHandle]) -> TenantHandle:
    """The tenant's API client with both vault scopes."""
    return make_tenant(scopes=VAULT_SCOPES)


@dataclass
class Session:
    tenant: TenantHandle
    headers: dict[str, str]


@pytest.fixture
def login_as(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> Callable[..., Session]:
    """A logged-in tenant user of ``role`` (cookie + CSRF headers)."""

    def make(role: str, tenant: TenantHandle | None = None) -> Session:
        t = tenant or make_tenant()
        with runtime.db.session(write=True, system=True) as s:
            row = s.get(Tenant, t.id)
            assert row is not None
            user, _ = create_user(
                s,
                runtime.passwords,
                row,
                name="事務 花子",
                email="jimu@example.jp",
                roles=[role],
                password=PASSWORD,
                actor=SYSTEM,
            )
            serial = user.serial
        r = client.post("/api/v1/auth/login", json={"serial": serial, "password": PASSWORD})
        assert r.status_code == 200, r.text
        cookie = r.cookies.get(sessions.SESSION_COOKIE) or ""
        client.cookies.clear()
        return Session(
            t,
            {
                "Cookie": f"{sessions.SESSION_COOKIE}={cookie}",
                "X-CSRF-Token": r.json()["csrf_token"],
            },
        )

    return make
