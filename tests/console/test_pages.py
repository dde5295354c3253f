"""Console pages over HTTP on SQLite and PostgreSQL: the login and its lockout, CSRF on
every form, the services' refusals by the field, a stale form, an expired session."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from hokan.kit.clock import utcnow
from hokan.models import User, UserSession
from hokan.runtime import Runtime
from tests.console.conftest import PASSWORD, People, make_person
from tests.console.helpers import console_client, csrf, login, post

GENERIC = "シリアル番号またはパスワードが正しくありません"


def test_login_opens_the_dashboard_and_wrong_passwords_all_read_alike(
    runtime: Runtime, people: People
) -> None:
    with console_client(runtime) as client:
        r = login(client, people.admin)
        assert r.status_code == 303 and r.headers["location"] == "/console"
        assert csrf(client)
        page = client.get("/console")
        assert page.status_code == 200 and "ダッシュボード" in page.text
        assert "nonce-" in page.headers["content-security-policy"]
        assert "unsafe-inline" not in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"

    with console_client(runtime) as client:
        answers = set()
        for _ in range(5):  # the tenant's threshold: the fifth locks the account
            r = login(client, people.staff, password="まちがい")
            assert r.status_code == 401
            answers.add(r.text.split('id="login-failure">')[1].split("<")[0])
        locked = login(client, people.staff)  # the right password, now locked
        assert locked.status_code == 401
        answers.add(locked.text.split('id="login-failure">')[1].split("<")[0])
        assert len(answers) == 1 and GENERIC in answers.pop()
        unknown = client.post(
            "/console/login", data={"serial": "0000000000000000", "password": "x"}
        )
        assert GENERIC in unknown.text


def test_every_form_needs_the_sessions_csrf_token(runtime: Runtime, people: People) -> None:
    with console_client(runtime) as client:
        login(client, people.admin)
        data = {"name": "新人", "email": "n@example.jp", "roles": "staff_user"}
        r = client.post("/console/users", data=data)
        assert r.status_code == 403 and "csrf_failed" in r.text
        r = client.post("/console/users", data={**data, "csrf_token": "forged"})
        assert r.status_code == 403 and "csrf_failed" in r.text
        r = post(client, "/console/users", data)
        assert r.status_code == 201 and "ユーザーを作成しました" in r.text


def test_a_refusal_is_shown_by_its_field_with_the_input_kept(
    runtime: Runtime, people: People
) -> None:
    with console_client(runtime) as client:
        login(client, people.admin)
        r = post(
            client,
            "/console/users",
            {"name": "新人 三郎", "email": "not-an-address", "roles": "staff_user"},
        )
        assert r.status_code == 422
        html = r.text
        assert 'id="email-error"' in html and "invalid_email" in html
        assert 'aria-describedby="email-error"' in html
        assert 'value="新人 三郎"' in html  # what was typed stays
        r = post(client, "/console/terminals", {"terminal": "PC", "days": "9999"})
        assert r.status_code == 400 and 'id="days-error"' in r.text


def test_a_stale_form_says_so_and_keeps_the_choice(runtime: Runtime, people: People) -> None:
    with console_client(runtime) as client:
        login(client, people.admin)
        # The page showed staff_user; meanwhile someone made the user a clerk.
        with runtime.db.session(write=True, system=True) as s:
            s.execute(
                update(User)
                .where(User.serial == people.staff.serial)
                .values(roles=["mynumber_clerk"])
            )
        r = post(
            client,
            f"/console/users/{people.staff.serial}/roles",
            {"roles": ["tenant_admin"], "seen_roles": "staff_user"},
        )
        assert r.status_code == 409
        assert "stale_form" in r.text and "他の人が変更しました" in r.text
        row = r.text.split(f'id="user-{people.staff.serial}"')[1].split("</tr>")[0]
        assert 'value="tenant_admin" checked' in row  # the user's choice, not saved, kept
        with runtime.db.session(system=True) as s:
            roles = s.query(User.roles).filter(User.serial == people.staff.serial).scalar()
        assert roles == ["mynumber_clerk"]


def test_a_session_expired_mid_form_returns_to_the_page_after_login(
    runtime: Runtime, people: People
) -> None:
    admin = make_person(runtime, people.tenant.id, "管理 二郎", ["tenant_admin"])
    with console_client(runtime) as client:
        login(client, admin)
        assert client.get("/console/terminals").status_code == 200
        with runtime.db.session(write=True, system=True) as s:
            s.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(days=1)))
        r = post(client, "/console/terminals", {"terminal": "PC", "back": "/console/terminals"})
        assert r.status_code == 303
        assert r.headers["location"].startswith("/console/login?next=/console/terminals")
        page = client.get(r.headers["location"])
        assert "セッションの有効期限が切れました" in page.text
        assert 'name="next" value="/console/terminals"' in page.text
        data = {"serial": admin.serial, "password": PASSWORD, "next": "/console/terminals"}
        back = client.post("/console/login", data=data)
        assert back.status_code == 303 and back.headers["location"] == "/console/terminals"
        # Elsewhere than the console is never a destination.
        for elsewhere in ("https://evil.example/", "//evil.example/x", "/api/v1/users"):
            r = client.post("/console/login", data={**data, "next": elsewhere})
            assert r.headers["location"] == "/console", elsewhere
