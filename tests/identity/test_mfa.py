"""TOTP second factor with recovery codes, and the tenant's "MFA required" (IAM-6)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.identity import sessions
from hokan.models import Tenant, User
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.conftest import TenantHandle, create_user

PASSWORD = "春の小川はさらさら行くよ"


def _user(runtime: Runtime, t: TenantHandle, mfa_required: bool = False) -> str:
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        if mfa_required:
            tenant.settings = {**tenant.settings, "mfa_required": True}
        user, _ = create_user(
            s,
            runtime.passwords,
            tenant,
            name="山田 太郎",
            email="y@example.jp",
            roles=["tenant_admin"],
            password=PASSWORD,
            actor=SYSTEM,
        )
        return user.serial


def _login(
    client: TestClient, serial: str, otp: str | None = None
) -> tuple[int, dict[str, object], dict[str, str]]:
    r = client.post("/api/v1/auth/login", json={"serial": serial, "password": PASSWORD, "otp": otp})
    body = r.json()
    jar = {}
    if r.status_code == 200:
        jar = {
            "Cookie": f"{sessions.SESSION_COOKIE}={r.cookies[sessions.SESSION_COOKIE]}",
            "X-CSRF-Token": str(body["csrf_token"]),
        }
    return r.status_code, body, jar


def test_required_mfa_limits_the_session_until_set_up(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    serial = _user(runtime, make_tenant(), mfa_required=True)
    status, body, jar = _login(client, serial)
    assert status == 200
    assert body["mfa_setup_required"] is True
    assert (
        client.get("/api/v1/collections", headers=jar).status_code == 403
    )  # nothing but the setup
    setup = client.post("/api/v1/auth/totp/setup", headers=jar).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/Hokan:")
    totp = pyotp.TOTP(setup["secret"])
    assert (
        client.post(
            "/api/v1/auth/totp/enable",
            json={"code": "000000" if totp.now() != "000000" else "111111"},
            headers=jar,
        ).json()["error"]
        == "invalid_otp"
    )
    first = totp.now()
    enabled = client.post("/api/v1/auth/totp/enable", json={"code": first}, headers=jar)
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/api/v1/collections", headers=jar).status_code == 401  # sessions ended
    # Now the second factor is needed, and a missing or wrong one is refused alike.
    assert _login(client, serial)[0] == 401
    assert _login(client, serial, "123456" if totp.now() != "123456" else "654321")[0] == 401
    assert _login(client, serial, first)[0] == 401  # the enabling code is spent (no replay)
    later = totp.at(time.time() + 30)  # the next 30-second step (inside the ±1 drift window)
    status, body, jar = _login(client, serial, later)
    assert (status, body["mfa_setup_required"]) == (200, False)
    assert _login(client, serial, later)[0] == 401  # a TOTP code works once
    assert client.get("/api/v1/collections", headers=jar).status_code == 200
    # A recovery code works once.
    assert _login(client, serial, codes[0].upper())[0] == 200
    assert _login(client, serial, codes[0])[0] == 401


def test_totp_secret_is_sealed(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    serial = _user(runtime, make_tenant())
    _, body, jar = _login(client, serial)
    assert body["mfa_setup_required"] is False  # not required by this tenant
    secret = client.post("/api/v1/auth/totp/setup", headers=jar).json()["secret"]
    with runtime.db.session(system=True) as s:
        user = s.scalars(select(User).where(User.serial == serial)).one()
        assert user.totp_ciphertext is not None
        assert secret.encode() not in user.totp_ciphertext
        assert not user.totp_enabled
