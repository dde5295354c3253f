"""The console in a real headless Chromium (UI-1, UI-4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hokan.kit.clock import to_jst, utcnow
from tests.console.conftest import (
    Browser,
    People,
    add_finding,
    login,
    my_number,
    operator_login,
    staff_record,
)


@pytest.fixture
def backend() -> str:
    # The pages' flows and rules run on both engines in test_pages.py and test_matrix.py.
    return "sqlite"


def test_admin_logs_in_with_totp_creates_a_user_and_issues_a_terminal(
    chromium: Browser, people: People, artefacts: Path, tmp_path: Path
) -> None:
    page = chromium.page()
    login(chromium, page, people.admin)
    assert page.url.endswith("/console")
    assert page.inner_text("h1") == "ダッシュボード"

    page.click("nav >> text=ユーザー")
    page.fill("#name", "新人 三郎")
    page.fill("#email", "new@example.jp")
    page.check("#create-user input[value=staff_user]")
    with page.expect_navigation():
        page.click("#create-user button[type=submit]")
    assert "ユーザーを作成しました" in page.inner_text("#created")
    serial = page.inner_text("#created-serial")
    assert len(serial) == 16
    assert page.locator(f"#user-{serial}").count() == 1

    page.click("nav >> text=端末証明書")
    page.fill("#terminal", "受付PC-1")
    with page.expect_navigation():
        page.click("#issue-terminal button[type=submit]")
    password = page.inner_text("#p12-password")
    assert len(password) == 23
    with page.expect_download() as info:
        page.click("#download-p12")
    target = tmp_path / "terminal.p12"
    info.value.save_as(target)
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, cert, _extra = pkcs12.load_key_and_certificates(target.read_bytes(), password.encode())
    assert key is not None and cert is not None
    assert "受付PC-1" in page.inner_text("table")
    page.screenshot(path=str(artefacts / "terminals-desktop.png"), full_page=True)

    page.click("nav >> text=運用者の同意")
    page.check("#create-grant input[value=team]")
    page.select_option("#team", "incident_response")
    page.check("#create-grant input[value='audit:read']")
    page.fill("#reason", "問い合わせ REQ-42 の調査")
    page.fill("#hours", "200")  # more than 7 days: refused by the field, input kept
    page.eval_on_selector("#hours", "e => e.removeAttribute('max')")
    with page.expect_navigation():
        page.click("#create-grant button[type=submit]")
    assert "invalid_validity" in page.inner_text("#hours-error")
    assert page.input_value("#reason") == "問い合わせ REQ-42 の調査"
    page.fill("#hours", "48")
    with page.expect_navigation():
        page.click("#create-grant button[type=submit]")
    assert "問い合わせ REQ-42 の調査" in page.inner_text("table")
    assert page.locator("table .badge.ok").count() == 1
    assert page.problems == []


def test_lockout_shows_the_same_generic_message(chromium: Browser, people: People) -> None:
    page = chromium.page()
    messages = set()
    for _ in range(6):  # five wrong passwords lock the account; the sixth is refused alike
        login(chromium, page, people.staff, password="まちがいです", ok=False)
        messages.add(page.inner_text("#login-failure"))
    login(chromium, page, people.staff, ok=False)  # the right password, on a locked account
    messages.add(page.inner_text("#login-failure"))
    assert len(messages) == 1
    assert "シリアル番号またはパスワードが正しくありません" in messages.pop()
    assert page.input_value("#serial") == people.staff.serial
    assert page.problems == []


def test_clerk_registers_reveals_and_sees_the_access(chromium: Browser, people: People) -> None:
    with httpx.Client(base_url=chromium.server.url) as api:
        staff_record(api, people.tenant, "S-001")
    page = chromium.page()
    login(chromium, page, people.clerk)
    page.click("nav >> text=マイナンバー")
    number = my_number()
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    page.fill("#record_id", "S-001")
    page.fill("#number", wrong)  # the check digit is judged as you type (htmx) …
    page.wait_for_selector("#number-feedback .error")
    assert "number_check_digit_mismatch" in page.inner_text("#number-feedback")
    with page.expect_navigation():  # … and again by the server when saved
        page.click("#register-number button[type=submit]")
    assert "number_check_digit_mismatch" in page.inner_text("#number-error")
    assert page.input_value("#record_id") == "S-001"  # kept; the number is typed again
    assert page.input_value("#number") == ""
    page.fill("#number", number)
    page.wait_for_selector("#number-feedback .ok")
    with page.expect_navigation():
        page.click("#register-number button[type=submit]")
    assert "********" + number[-4:] in page.inner_text("#registered")
    assert number not in page.content()  # only masked in the list

    row = page.locator("tbody tr", has_text="S-001").first
    row.locator("button[data-open]").click()
    dialog = page.locator("dialog[open]")
    dialog.locator("select[name=purpose]").select_option("tax")
    with page.expect_navigation():
        dialog.locator("button[type=submit]").click()
    assert page.inner_text("#revealed-number") == number

    page.click("nav >> text=自分の操作")
    table = page.inner_text("table")
    assert "vault.number.reveal" in table and "purpose=tax" in table
    assert page.problems == []


def test_operator_acknowledges_a_finding_and_schedules_maintenance(
    chromium: Browser, make_operator: Callable[..., Any]
) -> None:
    runtime = chromium.server.runtime
    add_finding(runtime, "深夜の一括閲覧")
    operator = make_operator(roles=("auditor", "operations_manager"))
    page = chromium.page()
    operator_login(chromium, page, operator)
    assert page.inner_text("h1") == "運用ダッシュボード"

    page.click("nav >> text=監査所見")
    row = page.locator("tbody tr", has_text="深夜の一括閲覧")
    row.locator("input[name=comment]").fill("本人に確認済み、業務上の必要あり")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    assert page.locator("tbody tr", has_text="深夜の一括閲覧").count() == 0  # no longer open
    page.click("text=確認済み")
    assert "本人に確認済み" in page.inner_text("table")

    page.click("nav >> text=メンテナンス")
    assert "14日以上前" in page.inner_text("#notice-rule")
    soon = to_jst(utcnow() + timedelta(days=13)).replace(hour=2, minute=0)
    for field, value in (("#starts_at", soon), ("#ends_at", soon + timedelta(hours=2))):
        page.fill(field, value.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#reason_ja", "データベースの定期更新")
    with page.expect_navigation():
        page.click("#schedule-window button[type=submit]")
    assert "maintenance_notice_too_short" in page.inner_text("#starts_at-error")
    assert page.input_value("#reason_ja") == "データベースの定期更新"  # kept
    later = soon + timedelta(days=2)
    page.fill("#starts_at", later.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#ends_at", (later + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    with page.expect_navigation():
        page.click("#schedule-window button[type=submit]")
    assert "データベースの定期更新" in page.inner_text("table")
    assert page.problems == []
