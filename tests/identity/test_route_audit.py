"""Every identity, token, grant, operator and tenant route leaves exactly its own audit
entry (ADR 0014): a success ``(action, "success")``, a refusal ``(action, "denied")``,
an error ``(action, "error")`` — under the action the service declared, once, and
never under the unit of work's fallback (``http.<route>``).

Each step compares the entries written by one call, by action name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from hokan.identity import operator_auth, sessions, users
from hokan.models import Tenant
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.conftest import OPERATOR_PASSWORD, OperatorHandle, TenantHandle, create_user
from tests.route_audit import only, trail

PASSWORD = "春の小川はさらさら行くよ"
OK, DENIED, ERROR = "success", "denied", "error"


class Trail:
    """Each call's audit entries (every chain), checked by action name (tests.route_audit)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def expect(
        self, call: Callable[[], Response], status: int, action: str, result: str
    ) -> Response:
        """``call`` answers ``status`` and leaves exactly one entry of ``action``, with
        ``result``, and none under the unit of work's fallback."""
        with trail(self.runtime) as found:
            r = call()
        assert r.status_code == status, r.text
        only(found, action, result)
        return r


@dataclass
class Tenancy:
    tenant: TenantHandle
    admin: dict[str, str]  # a tenant admin's session (cookie and CSRF token)
    staff: dict[str, str]  # a staff user's session: no user, token or grant administration
    admin_serial: str
    staff_serial: str


def _user(runtime: Runtime, t: TenantHandle, role: str) -> str:
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        user, _ = create_user(
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


def _session(client: TestClient, serial: str, otp: str | None = None) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"serial": serial, "password": PASSWORD, "otp": otp})
    assert r.status_code == 200, r.text
    jar = {
        "Cookie": f"{sessions.SESSION_COOKIE}={r.cookies[sessions.SESSION_COOKIE]}",
        "X-CSRF-Token": r.json()["csrf_token"],
    }
    client.cookies.clear()
    return jar


@pytest.fixture
def tenancy(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> Tenancy:
    t = make_tenant()
    admin_serial, staff_serial = _user(runtime, t, "tenant_admin"), _user(runtime, t, "staff_user")
    admin, staff = _session(client, admin_serial), _session(client, staff_serial)
    return Tenancy(t, admin, staff, admin_serial, staff_serial)


def test_login_and_session_routes(client: TestClient, runtime: Runtime, tenancy: Tenancy) -> None:
    audit = Trail(runtime)
    login = "/api/v1/auth/login"
    audit.expect(
        lambda: client.post(login, json={"serial": tenancy.staff_serial, "password": PASSWORD}),
        200,
        "auth.login",
        OK,
    )
    client.cookies.clear()
    audit.expect(
        lambda: client.post(login, json={"serial": tenancy.staff_serial, "password": "wrong!!"}),
        401,
        "auth.login",
        DENIED,
    )
    audit.expect(
        lambda: client.post(login, json={"serial": "not a serial", "password": PASSWORD}),
        401,
        "auth.login",
        DENIED,
    )
    logout = "/api/v1/auth/logout"
    no_csrf = {"Cookie": tenancy.staff["Cookie"]}
    audit.expect(lambda: client.post(logout, headers=no_csrf), 403, "auth.session", DENIED)
    audit.expect(lambda: client.post(logout, headers=tenancy.staff), 204, "auth.logout", OK)
    audit.expect(lambda: client.post(logout, headers=tenancy.staff), 401, "auth.session", DENIED)


def test_password_change(client: TestClient, runtime: Runtime, tenancy: Tenancy) -> None:
    audit = Trail(runtime)
    url = "/api/v1/auth/password"

    def change(headers: dict[str, str], current: str, new: str) -> Callable[[], Response]:
        body = {"current_password": current, "new_password": new}
        return lambda: client.post(url, json=body, headers=headers)

    new = "夏の海はきらきらと光っているよ"
    token = tenancy.tenant.headers
    audit.expect(change(token, PASSWORD, new), 403, "auth.password_change", DENIED)
    audit.expect(change(tenancy.staff, "wrong!!", new), 401, "auth.password_change", DENIED)
    audit.expect(change(tenancy.staff, PASSWORD, "short"), 422, "auth.password_change", ERROR)
    audit.expect(change(tenancy.staff, PASSWORD, new), 204, "auth.password_change", OK)


def test_second_factor(client: TestClient, runtime: Runtime, tenancy: Tenancy) -> None:
    audit = Trail(runtime)
    setup, enable = "/api/v1/auth/totp/setup", "/api/v1/auth/totp/enable"
    token = tenancy.tenant.headers
    audit.expect(lambda: client.post(setup, headers=token), 403, "auth.totp_setup", DENIED)
    audit.expect(
        lambda: client.post(enable, json={"code": "123456"}, headers=tenancy.staff),
        409,
        "auth.totp_enable",
        ERROR,
    )
    r = audit.expect(lambda: client.post(setup, headers=tenancy.staff), 200, "auth.totp_setup", OK)
    totp = pyotp.TOTP(r.json()["secret"])
    wrong = "000000" if totp.now() != "000000" else "111111"
    audit.expect(
        lambda: client.post(enable, json={"code": wrong}, headers=tenancy.staff),
        422,
        "auth.totp_enable",
        ERROR,
    )
    audit.expect(
        lambda: client.post(enable, json={"code": totp.now()}, headers=tenancy.staff),
        200,
        "auth.totp_enable",
        OK,
    )
    audit.expect(
        lambda: client.post(enable, headers=token, json={"code": "1"}),
        403,
        "auth.totp_enable",
        DENIED,
    )


def test_user_administration(client: TestClient, runtime: Runtime, tenancy: Tenancy) -> None:
    audit = Trail(runtime)
    admin, staff = tenancy.admin, tenancy.staff
    scope = "auth.scope_denied"
    unlock = f"/api/v1/users/{tenancy.staff_serial}/unlock"
    force = f"/api/v1/users/{tenancy.staff_serial}/require-password-change"
    review = {"decisions": [], "comment": "四半期の棚卸"}
    calls: list[tuple[str, str, str, dict[str, object] | None]] = [
        ("GET", "/api/v1/users", "user.list", None),
        ("POST", unlock, "auth.unlock", None),
        ("GET", "/api/v1/accounts/inventory", "accounts.inventory", None),
        ("POST", "/api/v1/accounts/reviews", "accounts.review", review),
        ("POST", "/api/v1/accounts/disable-dormant", "accounts.disable_dormant", None),
        # Last: from here on the staff session may only change its password.
        ("POST", force, "user.require_password_change", None),
    ]
    for method, url, action, body in calls:
        status = 201 if action == "accounts.review" else 200

        def call(
            headers: dict[str, str], m: str = method, u: str = url, b: object = body
        ) -> Callable[[], Response]:
            return lambda: client.request(m, u, json=b, headers=headers)

        audit.expect(call(staff), 403, scope, DENIED)
        audit.expect(call(admin), status, action, OK)
    audit.expect(
        lambda: client.post("/api/v1/users/0000000000000000/unlock", headers=admin),
        404,
        "auth.unlock",
        ERROR,
    )
    audit.expect(
        lambda: client.post(
            "/api/v1/users/0000000000000000/require-password-change", headers=admin
        ),
        404,
        "user.require_password_change",
        ERROR,
    )
    # The forced change restricts the staff's open session at once.
    audit.expect(
        lambda: client.get("/api/v1/users", headers=staff),
        403,
        "auth.password_change_required",
        DENIED,
    )


def test_password_change_required(client: TestClient, runtime: Runtime, tenancy: Tenancy) -> None:
    """A user created by an admin or the CLI: the session may only change the password."""
    audit = Trail(runtime)
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, tenancy.tenant.id)
        assert tenant is not None
        user, _ = users.create(
            s,
            runtime.passwords,
            tenant,
            name="新人 花子",
            email="hanako@example.jp",
            roles=["tenant_admin"],
            password=PASSWORD,
            actor=SYSTEM,
        )
        serial = user.serial
    login = {"serial": serial, "password": PASSWORD}
    r = audit.expect(lambda: client.post("/api/v1/auth/login", json=login), 200, "auth.login", OK)
    assert r.json()["password_change_required"] is True
    jar = {
        "Cookie": f"{sessions.SESSION_COOKIE}={r.cookies[sessions.SESSION_COOKIE]}",
        "X-CSRF-Token": r.json()["csrf_token"],
    }
    client.cookies.clear()
    restricted = "auth.password_change_required"
    for method, url in [
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/tenant"),
        ("POST", "/api/v1/auth/totp/setup"),
        ("GET", "/api/v1/collections"),
        ("GET", "/api/v1/vault/entries"),
    ]:
        with trail(runtime) as found:
            answer = client.request(method, url, headers=jar)
        assert answer.status_code == 403, answer.text
        assert found == {restricted: [DENIED]}, (url, found)
    body = {"current_password": PASSWORD, "new_password": "夏の海はきらきらと光っているよ"}
    audit.expect(
        lambda: client.post("/api/v1/auth/password", json=body, headers=jar),
        204,
        "auth.password_change",
        OK,
    )


def test_personal_tokens(client: TestClient, runtime: Runtime, tenancy: Tenancy) -> None:
    audit = Trail(runtime)
    url, admin, token = "/api/v1/tokens", tenancy.admin, tenancy.tenant.headers
    body = {"name": "連携", "scopes": ["records:read"], "days": 7}
    audit.expect(lambda: client.post(url, json=body, headers=token), 403, "token.create", DENIED)
    audit.expect(
        lambda: client.post(url, json={**body, "scopes": ["nope"]}, headers=admin),
        422,
        "token.create",
        ERROR,
    )
    staff_more = {**body, "scopes": ["users:manage"]}
    audit.expect(
        lambda: client.post(url, json=staff_more, headers=tenancy.staff),
        403,
        "token.create",
        DENIED,
    )
    r = audit.expect(lambda: client.post(url, json=body, headers=admin), 201, "token.create", OK)
    prefix = r.json()["prefix"]
    audit.expect(lambda: client.get(url, headers=token), 403, "token.list", DENIED)
    audit.expect(lambda: client.get(url, headers=admin), 200, "token.list", OK)
    audit.expect(
        lambda: client.delete(f"{url}/{prefix}", headers=token), 403, "token.revoke", DENIED
    )
    audit.expect(
        lambda: client.delete(f"{url}/hk_nothere", headers=admin), 404, "token.revoke", ERROR
    )
    audit.expect(lambda: client.delete(f"{url}/{prefix}", headers=admin), 200, "token.revoke", OK)


def test_consent_grants(
    client: TestClient,
    runtime: Runtime,
    tenancy: Tenancy,
    make_operator: Callable[..., OperatorHandle],
) -> None:
    op = make_operator()
    audit = Trail(runtime)
    url, admin, scope = "/api/v1/consent-grants", tenancy.admin, "auth.scope_denied"
    body = {
        "operator_serial": op.serial,
        "scopes": ["records:read"],
        "reason": "障害調査",
        "hours": 2,
    }
    audit.expect(lambda: client.post(url, json=body, headers=tenancy.staff), 403, scope, DENIED)
    both = {**body, "team": "incident_response"}
    audit.expect(lambda: client.post(url, json=both, headers=admin), 422, "grant.create", ERROR)
    r = audit.expect(lambda: client.post(url, json=body, headers=admin), 201, "grant.create", OK)
    grant = r.json()["id"]
    audit.expect(lambda: client.get(url, headers=tenancy.tenant.headers), 403, scope, DENIED)
    audit.expect(lambda: client.get(url, headers=admin), 200, "grant.list", OK)
    audit.expect(lambda: client.delete(f"{url}/{grant}", headers=tenancy.staff), 403, scope, DENIED)
    audit.expect(
        lambda: client.delete(f"{url}/{uuid.uuid4()}", headers=admin), 404, "grant.revoke", ERROR
    )
    audit.expect(lambda: client.delete(f"{url}/{grant}", headers=admin), 200, "grant.revoke", OK)


def test_own_tenant(client: TestClient, runtime: Runtime, tenancy: Tenancy) -> None:
    audit = Trail(runtime)
    url = "/api/v1/tenant"
    audit.expect(lambda: client.get(url, headers=tenancy.tenant.headers), 200, "tenant.read", OK)
    audit.expect(lambda: client.get(url, headers=tenancy.staff), 200, "tenant.read", OK)
    bad = {"Authorization": "Bearer hk_aaaaaaaa_" + "a" * 43}
    audit.expect(lambda: client.get(url, headers=bad), 401, "auth.token", DENIED)


def test_tenant_contacts(client: TestClient, runtime: Runtime, tenancy: Tenancy) -> None:
    audit = Trail(runtime)
    url, admin, scope = "/api/v1/tenant/contacts", tenancy.admin, "auth.scope_denied"
    body = {"email": "soumu@acme.example.jp", "roles": ["security"], "name": "総務"}
    audit.expect(lambda: client.get(url, headers=tenancy.staff), 403, scope, DENIED)
    audit.expect(lambda: client.post(url, json=body, headers=tenancy.staff), 403, scope, DENIED)
    bad = {**body, "roles": ["boss"]}
    audit.expect(
        lambda: client.post(url, json=bad, headers=admin), 400, "tenant.contact_add", ERROR
    )
    r = audit.expect(
        lambda: client.post(url, json=body, headers=admin), 201, "tenant.contact_add", OK
    )
    contact = r.json()["id"]
    audit.expect(lambda: client.post(url, json=body, headers=admin), 200, "tenant.contact_add", OK)
    audit.expect(lambda: client.get(url, headers=admin), 200, "tenant.contact_list", OK)
    audit.expect(
        lambda: client.get(url, headers=tenancy.tenant.headers), 200, "tenant.contact_list", OK
    )
    one, missing = f"{url}/{contact}", f"{url}/{uuid.uuid4()}"
    audit.expect(
        lambda: client.put(one, json={**body, "roles": ["notice"]}, headers=admin),
        200,
        "tenant.contact_update",
        OK,
    )
    audit.expect(
        lambda: client.put(missing, json=body, headers=admin), 404, "tenant.contact_update", ERROR
    )
    audit.expect(lambda: client.delete(one, headers=tenancy.staff), 403, scope, DENIED)
    audit.expect(lambda: client.delete(missing, headers=admin), 404, "tenant.contact_remove", ERROR)
    audit.expect(lambda: client.delete(one, headers=admin), 204, "tenant.contact_remove", OK)


def _operator_session(client: TestClient, op: OperatorHandle) -> dict[str, str]:
    r = client.post(
        "/api/v1/operator/auth/login",
        json={"serial": op.serial, "password": OPERATOR_PASSWORD, "otp": op.code()},
    )
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return {
        "Cookie": f"{operator_auth.OPERATOR_COOKIE}={r.cookies[operator_auth.OPERATOR_COOKIE]}",
        "X-CSRF-Token": r.json()["csrf_token"],
    }


def test_operator_login_and_session(
    ops_client: TestClient, runtime: Runtime, make_operator: Callable[..., OperatorHandle]
) -> None:
    op = make_operator()
    audit = Trail(runtime)
    url = "/api/v1/operator/auth/login"
    wrong = {"serial": op.serial, "password": OPERATOR_PASSWORD, "otp": "000000"}
    if op.code() == "000000":
        wrong["otp"] = "111111"
    audit.expect(lambda: ops_client.post(url, json=wrong), 401, "operator.login", DENIED)
    unknown = {**wrong, "serial": "0000000000000000"}
    audit.expect(lambda: ops_client.post(url, json=unknown), 401, "operator.login", DENIED)
    right = {"serial": op.serial, "password": OPERATOR_PASSWORD, "otp": op.code()}
    r = audit.expect(lambda: ops_client.post(url, json=right), 200, "operator.login", OK)
    ops_client.cookies.clear()
    jar = {
        "Cookie": f"{operator_auth.OPERATOR_COOKIE}={r.cookies[operator_auth.OPERATOR_COOKIE]}",
        "X-CSRF-Token": r.json()["csrf_token"],
    }
    with trail(runtime) as found:
        me = ops_client.get("/api/v1/operator/me", headers=jar)
    assert me.status_code == 200 and found == {}  # reads nothing, records nothing
    logout = "/api/v1/operator/auth/logout"
    no_csrf = {"Cookie": jar["Cookie"]}
    audit.expect(
        lambda: ops_client.post(logout, headers=no_csrf), 403, "auth.operator_session", DENIED
    )
    audit.expect(lambda: ops_client.post(logout, headers=jar), 204, "operator.logout", OK)
    audit.expect(lambda: ops_client.post(logout, headers=jar), 401, "auth.operator_session", DENIED)


def test_operator_network_is_refused_under_the_declared_action(
    settings_factory: Callable[..., object], make_tenant: Callable[..., TenantHandle]
) -> None:
    from hokan.app import create_app
    from hokan.settings import Settings

    settings = settings_factory(operator_cidrs="10.99.0.0/16")
    assert isinstance(settings, Settings)
    rt = Runtime(settings)
    rt.keyring.verify_master(initialise=True)
    try:
        audit = Trail(rt)
        with TestClient(create_app(runtime=rt), client=("127.0.0.1", 50000)) as c:
            body = {"serial": "0000000000000000", "password": OPERATOR_PASSWORD, "otp": "123456"}
            audit.expect(
                lambda: c.post("/api/v1/operator/auth/login", json=body),
                403,
                "operator.network_denied",
                DENIED,
            )
    finally:
        rt.close()


def test_operator_administration(
    ops_client: TestClient,
    runtime: Runtime,
    make_operator: Callable[..., OperatorHandle],
    make_tenant: Callable[..., TenantHandle],
) -> None:
    tenant = make_tenant()
    manager = _operator_session(ops_client, make_operator(roles=("operations_manager",)))
    responder_op = make_operator()
    responder = _operator_session(ops_client, responder_op)
    audit = Trail(runtime)
    role = "operator.role_denied"
    person = {"name": "運用 次郎", "email": "jiro@hokan.example"}
    new = {**person, "roles": ["incident_response"]}
    temporary = {
        **person,
        "tenant": tenant.tenant.code,
        "request_ref": "REQ-9",
        "reason": "障害調査",
        "hours": 4,
    }
    post, get, put = ops_client.post, ops_client.get, ops_client.put

    audit.expect(lambda: get("/api/v1/operator/operators", headers=responder), 403, role, DENIED)
    audit.expect(
        lambda: get("/api/v1/operator/operators", headers=manager), 200, "operator.list", OK
    )

    url = "/api/v1/operator/operators"
    audit.expect(lambda: post(url, json=new, headers=responder), 403, role, DENIED)
    bad_role = {**new, "roles": ["tenant_admin"]}
    audit.expect(lambda: post(url, json=bad_role, headers=manager), 422, "operator.create", ERROR)
    r = audit.expect(lambda: post(url, json=new, headers=manager), 201, "operator.create", OK)
    serial = r.json()["serial"]

    url = "/api/v1/operator/temporary-accounts"
    audit.expect(lambda: post(url, json=temporary, headers=responder), 403, role, DENIED)
    nowhere = {**temporary, "tenant": "no-such-tenant"}
    audit.expect(
        lambda: post(url, json=nowhere, headers=manager), 404, "operator.create_temporary", ERROR
    )
    audit.expect(
        lambda: post(url, json=temporary, headers=manager), 201, "operator.create_temporary", OK
    )

    url = f"/api/v1/operator/operators/{serial}/roles"
    roles = {"roles": ["operations_support"]}
    audit.expect(lambda: put(url, json=roles, headers=responder), 403, role, DENIED)
    audit.expect(
        lambda: put(
            "/api/v1/operator/operators/0000000000000000/roles", json=roles, headers=manager
        ),
        404,
        "operator.set_roles",
        ERROR,
    )
    audit.expect(lambda: put(url, json=roles, headers=manager), 200, "operator.set_roles", OK)

    url = f"/api/v1/operator/operators/{serial}/disable"
    audit.expect(lambda: post(url, headers=responder), 403, role, DENIED)
    audit.expect(
        lambda: post("/api/v1/operator/operators/0000000000000000/disable", headers=manager),
        404,
        "operator.disable",
        ERROR,
    )
    audit.expect(lambda: post(url, headers=manager), 200, "operator.disable", OK)

    url = "/api/v1/operator/accounts/inventory"
    audit.expect(lambda: get(url, headers=responder), 403, role, DENIED)
    audit.expect(lambda: get(url, headers=manager), 200, "accounts.inventory", OK)
