"""The isolation matrix over every console route (TEN-2, UI-1/2), enumerated from the app
so a new page is covered the day it is added: anonymous → the login page, the wrong
role → the refusal page (403), another tenant's object → the not-found page (404),
and a tenant's session never opens an operator page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from hokan.kit.clock import utcnow
from hokan.models import ConsentGrant
from hokan.runtime import Runtime
from tests.conftest import TenantHandle
from tests.console.conftest import People, make_person, my_number, staff_record
from tests.console.helpers import console_client, fill, login, routes

ROUTES = routes()
# Pages every signed-in user of a tenant may open, whatever the role.
ANY_USER = {"/console", "/console/logout", "/console/password", "/console/activity"}
ANY_USER_PREFIXES = ("/console/mfa",)


def _send(client, method: str, url: str, csrf_token: str = ""):  # type: ignore[no-untyped-def]
    if method == "GET":
        return client.get(url)
    return client.post(
        url, data={"csrf_token": csrf_token, "purpose": "tax", "roles": "staff_user"}
    )


def test_the_matrix_knows_the_console() -> None:
    paths = {p for _, p in ROUTES}
    assert {"/console/users", "/console/terminals", "/console/grants"} <= paths
    assert len(ROUTES) >= 15


def test_anonymous_is_sent_to_the_login_page(runtime: Runtime) -> None:
    with console_client(runtime) as client:
        for method, path in ROUTES:
            r = _send(client, method, fill(path, {}))  # every page, the operators' too
            assert r.status_code == 303, (method, path, r.status_code)
            login_page = (
                "/console/ops/login" if path.startswith("/console/ops") else "/console/login"
            )
            assert r.headers["location"].startswith(login_page + "?next="), (method, path)


def test_the_wrong_role_gets_the_refusal_page(runtime: Runtime, people: People) -> None:
    from tests.console.helpers import csrf

    with console_client(runtime) as client:
        assert login(client, people.staff).status_code == 303
        token = csrf(client)
        tried = 0
        for method, path in ROUTES:
            if path in ANY_USER or path.startswith(ANY_USER_PREFIXES):
                continue
            r = _send(client, method, fill(path, {}), token)
            if path.startswith("/console/ops"):
                # A tenant's session is never an operator's: the operator login instead.
                assert r.status_code == 303, (method, path, r.status_code)
                assert r.headers["location"].startswith("/console/ops/login")
                continue
            assert r.status_code == 403, (method, path, r.status_code)
            assert "権限がありません" in r.text and "<html" in r.text
            tried += 1
        assert tried >= 10


def test_another_tenants_objects_are_not_found(
    runtime: Runtime,
    people: People,
    make_tenant: Callable[..., TenantHandle],
    client: TestClient,
) -> None:
    from tests.console.helpers import csrf, post

    other = make_tenant()
    intruders = {
        "admin": make_person(runtime, other.id, "他社 管理者", ["tenant_admin"]),
        "clerk": make_person(runtime, other.id, "他社 事務", ["mynumber_clerk"]),
    }
    owner = make_person(runtime, people.tenant.id, "管理 二郎", ["tenant_admin"])
    params: dict[str, str] = {"serial": people.staff.serial}
    with console_client(runtime) as browser:
        login(browser, owner)
        r = post(browser, "/console/terminals", {"terminal": "受付PC", "days": "30"})
        assert r.status_code == 201
        params["cert_serial"] = r.text.split('id="terminal-')[1].split('"')[0]
    staff_record(client, people.tenant, "S-1")
    with console_client(runtime) as browser:
        login(browser, people.clerk)
        r = post(browser, "/console/mynumber", {"record_id": "S-1", "number": my_number()})
        assert r.status_code == 201
        params["entry_id"] = r.text.split('id="entry-')[1].split('"')[0]
    grant = ConsentGrant(
        tenant_id=people.tenant.id,
        grantee_role="auditor",
        scopes=["audit:read"],
        reason="調査",
        created_by="test",
        expires_at=utcnow(),
    )
    with runtime.db.session(write=True, system=True) as s:
        s.add(grant)
        s.flush()
        params["grant_id"] = str(grant.id)
    tried = 0
    for who, intruder in intruders.items():
        with console_client(runtime) as browser:
            login(browser, intruder)
            token = csrf(browser)
            for method, path in ROUTES:
                if "{" not in path or path.startswith("/console/ops"):
                    continue
                if path.startswith("/console/mynumber") != (who == "clerk"):
                    continue
                url = fill(path.replace("/terminals/{serial}", "/terminals/{cert_serial}"), params)
                r = _send(browser, method, url, token)
                assert r.status_code == 404, (method, path, r.status_code)
                assert "見つかりません" in r.text
                tried += 1
    assert tried >= 8


def test_operator_pages_need_the_operators_role(
    runtime: Runtime, make_operator: Callable[..., Any]
) -> None:
    from tests.conftest import OPERATOR_PASSWORD
    from tests.console.helpers import csrf

    ops = [(m, p) for m, p in ROUTES if p.startswith("/console/ops")]
    assert len(ops) >= 10
    support = make_operator(roles=("operations_support",))  # none of the pages' roles
    with console_client(runtime) as browser:
        r = browser.post(
            "/console/ops/login",
            data={"serial": support.serial, "password": OPERATOR_PASSWORD, "otp": support.code()},
        )
        assert r.status_code == 303, r.text
        token = csrf(browser, operator=True)
        for method, path in ops:
            if path in ("/console/ops", "/console/ops/logout"):
                continue  # any operator
            r = _send(browser, method, fill(path, {"number": "INC-2026-0001"}), token)
            assert r.status_code == 403, (method, path, r.status_code)
            assert "権限がありません" in r.text
        assert browser.get("/console/ops").status_code == 200
        # An operator's session is not a tenant's: without the tenant's consent, refused.
        r = browser.get("/console/users")
        assert r.status_code == 403 and "consent_required" in r.text


def test_unknown_operator_objects_are_not_found(
    runtime: Runtime, make_operator: Callable[..., Any]
) -> None:
    from tests.conftest import OPERATOR_PASSWORD
    from tests.console.helpers import post

    boss = make_operator(roles=("auditor", "operations_manager", "incident_response"))
    with console_client(runtime) as browser:
        browser.post(
            "/console/ops/login",
            data={"serial": boss.serial, "password": OPERATOR_PASSWORD, "otp": boss.code()},
        )
        assert browser.get("/console/ops/incidents/INC-2026-9999").status_code == 404
        missing = "00000000-0000-4000-8000-000000000000"
        r = post(browser, f"/console/ops/findings/{missing}/acknowledge", {"comment": "x"})
        assert r.status_code == 404 and "見つかりません" in r.text
        r = post(browser, f"/console/ops/maintenance/{missing}/cancel")
        assert r.status_code == 404
