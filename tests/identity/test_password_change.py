"""A password someone else set must be changed first (ADR 0017): the session of a user
created by an admin or the CLI, or whose admin forces a change, can only change its
password or log out; every other route answers 403 ``password_change_required``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from hokan.app import create_app
from hokan.httpkit.routes import api_routes
from hokan.identity import sessions, users
from hokan.models import Tenant
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle, create_user
from tests.route_audit import refused, trail

PASSWORD = "春の小川はさらさら行くよ"
NEW_PASSWORD = "夏の海はきらきらと光っているよ"
RESTRICTED = "password_change_required"


def _user(runtime: Runtime, t: TenantHandle, role: str, *, settled: bool = False) -> str:
    """A user as an admin or ``hokan user create`` makes one (``settled``: as if the
    user had already chosen the password)."""
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        make = create_user if settled else users.create
        user, _ = make(
            s,
            runtime.passwords,
            tenant,
            name="山田 太郎",
            email="yamada@example.jp",
            roles=[role],
            password=PASSWORD,
            actor=SYSTEM,
        )
        return user.serial


def _login(
    client: TestClient, serial: str, password: str = PASSWORD
) -> tuple[dict[str, object], dict[str, str]]:
    r = client.post("/api/v1/auth/login", json={"serial": serial, "password": password})
    assert r.status_code == 200, r.text
    jar = {
        "Cookie": f"{sessions.SESSION_COOKIE}={r.cookies[sessions.SESSION_COOKIE]}",
        "X-CSRF-Token": r.json()["csrf_token"],
    }
    client.cookies.clear()
    return r.json(), jar


def _change(client: TestClient, jar: dict[str, str], current: str, new: str) -> int:
    body = {"current_password": current, "new_password": new}
    return client.post("/api/v1/auth/password", json=body, headers=jar).status_code


def test_a_created_user_changes_the_password_before_anything_else(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    serial = _user(runtime, t, "tenant_admin")
    body, jar = _login(client, serial)
    assert body["password_change_required"] is True

    with trail(runtime) as found:
        r = client.get("/api/v1/users", headers=jar)
    assert r.status_code == 403 and r.json()["error"] == RESTRICTED
    refused(found, "auth.password_change_required", "user.list")
    english = client.get("/api/v1/tenant", headers={**jar, "Accept-Language": "en"})
    assert english.status_code == 403 and "change your password" in english.json()["detail"]
    japanese = client.get("/api/v1/tenant", headers=jar)
    assert "パスワードの変更が必要です" in japanese.json()["detail"]
    # Nor can it mint a token that would not be restricted.
    token = {"name": "抜け道", "scopes": ["records:read"], "days": 7}
    assert client.post("/api/v1/tokens", json=token, headers=jar).json()["error"] == RESTRICTED

    # The same password again does not count as a change.
    r = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": PASSWORD},
        headers=jar,
    )
    assert r.status_code == 422 and r.json()["reason"] == "unchanged"
    assert _change(client, jar, "wrong password!!", NEW_PASSWORD) == 401
    assert _change(client, jar, PASSWORD, NEW_PASSWORD) == 204
    assert client.get("/api/v1/users", headers=jar).json()["error"] == "session_expired"

    body, jar = _login(client, serial, NEW_PASSWORD)
    assert body["password_change_required"] is False
    assert client.get("/api/v1/users", headers=jar).status_code == 200
    listed = client.get("/api/v1/users", headers=jar).json()
    assert listed[0]["password_change_required"] is False


def test_a_restricted_session_is_refused_on_every_route_but_its_own_two(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    """Deny by default: every tenant route of the app, not a list kept by hand."""
    t = make_tenant()
    serial = _user(runtime, t, "tenant_admin")
    _, jar = _login(client, serial)
    allowed = {
        "/api/v1/auth/password",
        "/api/v1/auth/logout",
        "/api/v1/auth/login",
        "/api/v1/password-setup",  # public: a one-time token, no session (LIFE-1)
    }
    app = create_app(Settings(env="test", data_dir=Path("/nonexistent")))
    tried = 0
    for method, path in api_routes(app):
        if not path.startswith("/api/v1/") or path in allowed:
            continue  # public: /healthz, /readyz, the docs
        if path.startswith("/api/v1/operator/"):
            continue  # operator routes take operator sessions, not a user's
        url = re.sub(r"\{(\w+)\}", "1", path)
        body = {"json": {}} if method in {"PUT", "POST", "PATCH"} else {}
        r = client.request(method, url, headers=jar, **body)  # type: ignore[arg-type]
        assert r.status_code == 403 and r.json()["error"] == RESTRICTED, (method, path, r.text)
        tried += 1
    assert tried > 30
    r = client.post("/api/v1/auth/logout", headers=jar)
    assert r.status_code == 204


def test_an_admin_forces_a_change_and_tokens_are_unaffected(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    admin_serial = _user(runtime, t, "tenant_admin", settled=True)
    staff_serial = _user(runtime, t, "staff_user", settled=True)
    body, admin = _login(client, admin_serial)
    assert body["password_change_required"] is False
    _, staff = _login(client, staff_serial)
    assert client.get("/api/v1/collections", headers=staff).status_code == 200
    token = {"name": "連携", "scopes": ["records:read"], "days": 7}
    r = client.post("/api/v1/tokens", json=token, headers=staff)
    assert r.status_code == 201, r.text
    bearer = {"Authorization": f"Bearer {r.json()['token']}"}

    url = f"/api/v1/users/{staff_serial}/require-password-change"
    r = client.post(url, headers=staff)
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    missing = client.post("/api/v1/users/0000000000000000/require-password-change", headers=admin)
    assert missing.status_code == 404 and missing.json()["error"] == "user_not_found"
    r = client.post(url, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["serial"] == staff_serial and r.json()["password_change_required"] is True

    # The open session is restricted at once, the next login too; the token is not.
    assert client.get("/api/v1/collections", headers=staff).json()["error"] == RESTRICTED
    body, again = _login(client, staff_serial)
    assert body["password_change_required"] is True
    assert client.get("/api/v1/collections", headers=again).json()["error"] == RESTRICTED
    assert client.get("/api/v1/collections", headers=bearer).status_code == 200
    assert client.get("/api/v1/collections", headers=t.headers).status_code == 200
    # The admin's own session is untouched.
    assert client.get("/api/v1/users", headers=admin).status_code == 200

    assert _change(client, again, PASSWORD, NEW_PASSWORD) == 204
    _, after = _login(client, staff_serial, NEW_PASSWORD)
    assert client.get("/api/v1/collections", headers=after).status_code == 200


def test_the_admin_route_is_audited_under_its_own_action(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    admin_serial = _user(runtime, t, "tenant_admin", settled=True)
    staff_serial = _user(runtime, t, "staff_user", settled=True)
    _, admin = _login(client, admin_serial)
    with trail(runtime) as found:
        r = client.post(f"/api/v1/users/{staff_serial}/require-password-change", headers=admin)
    assert r.status_code == 200
    assert found == {"user.require_password_change": ["success"]}


def test_the_flag_is_set_for_every_created_user_and_by_require_password_change(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        generated, shown = users.create(
            s,
            runtime.passwords,
            tenant,
            name="生成 太郎",
            email="g@example.jp",
            roles=["staff_user"],
            password=None,
            actor=SYSTEM,
        )
        assert shown and generated.password_change_required is True
    serial = _user(runtime, t, "staff_user", settled=True)
    with runtime.db.session(write=True, system=True) as s:
        assert users.require_password_change(s, t.id, serial, SYSTEM).serial == serial
    with runtime.db.session(system=True) as s:
        assert users.by_serial(s, t.id, serial).password_change_required is True
