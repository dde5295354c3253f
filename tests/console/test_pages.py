"""Console pages over HTTP on SQLite and PostgreSQL: the login and its lockout, CSRF on
every form, the services' refusals by the field, a stale form, an expired session."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from hokan.audit import service as audit
from hokan.kit.clock import utcnow
from hokan.models import User, UserSession
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.console.conftest import PASSWORD, People, make_person, my_number, staff_record
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


def test_the_clerks_register_checks_reveals_and_hands_out_documents(
    runtime: Runtime, people: People, client: TestClient
) -> None:
    staff_record(client, people.tenant, "S-9")
    number = my_number("98765432109")
    with console_client(runtime) as browser:
        assert login(browser, people.clerk).status_code == 303
        wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
        feedback = post(browser, "/console/mynumber/check", {"number": wrong})
        assert "number_check_digit_mismatch" in feedback.text and wrong not in feedback.text
        assert "✓" in post(browser, "/console/mynumber/check", {"number": number}).text
        assert post(browser, "/console/mynumber/check", {"number": "1234"}).text == ""
        r = post(browser, "/console/mynumber", {"record_id": "S-9", "number": wrong})
        assert r.status_code == 422 and 'id="number-error"' in r.text
        assert wrong not in r.text  # never echoed
        r = post(browser, "/console/mynumber", {"record_id": "S-9", "number": number})
        assert r.status_code == 201 and "********" + number[-4:] in r.text
        assert number not in r.text
        entry_id = r.text.split('id="entry-')[1].split('"')[0]
        r = post(browser, f"/console/mynumber/{entry_id}/reveal", {"purpose": "marketing"})
        assert r.status_code == 422 and "invalid_purpose" in r.text and number not in r.text
        r = post(browser, f"/console/mynumber/{entry_id}/reveal", {"purpose": "social_security"})
        assert r.status_code == 200 and number in r.text
        assert r.headers["cache-control"] == "no-store"

        pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        files = {"document": ("license.pdf", pdf, "application/pdf")}
        r = browser.post(
            "/console/mynumber/documents",
            data={"csrf_token": csrf(browser), "doc_record_id": "S-9"},
            files=files,
        )
        assert r.status_code == 201, r.text
        doc_id = r.text.split('id="entry-')[2].split('"')[0]
        r = post(browser, f"/console/mynumber/{doc_id}/download", {"purpose": "tax"})
        assert r.status_code == 200 and r.content == pdf
        assert r.headers["content-disposition"].startswith("attachment")

        mine = browser.get("/console/activity").text
        assert mine.count("vault.number.reveal") == 2  # the refused one is on record too
        assert "purpose=social_security" in mine and "vault.document.download" in mine


def test_the_audit_log_pages_newest_first_and_downloads_csv(
    runtime: Runtime, people: People
) -> None:
    with console_client(runtime) as browser:
        login(browser, people.admin)
        assert browser.get("/console/users").status_code == 200
        with runtime.db.session(write=True, tenant=people.tenant.id) as s:
            for i in range(150):
                audit.record(s, SYSTEM, "test.filler", "thing", str(i), tenant_id=people.tenant.id)
        first = browser.get("/console/audit")
        assert first.status_code == 200
        seqs = [int(x.split("<")[0]) for x in first.text.split('<td class="num">')[1:]]
        assert len(seqs) == 100 and seqs == sorted(seqs, reverse=True)
        older = first.text.split('rel="next"')[0].rsplit('href="?', 1)[1].split('"')[0]
        second = browser.get("/console/audit?" + older.replace("&amp;", "&"))
        more = [int(x.split("<")[0]) for x in second.text.split('<td class="num">')[1:]]
        assert more and max(more) < min(seqs)
        filtered = browser.get("/console/audit?action=user.&result=success")
        assert "user.list" in filtered.text and "audit.read" not in filtered.text
        csv = browser.get("/api/v1/audit/events.csv?action=user.list")
        assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
        assert 'href="/api/v1/audit/events.csv"' in first.text
