"""Each main console page in Chromium at 1920×1080 and 390×844: screenshots saved as
artefacts, nothing wider than a phone, no CSP violation, axe-core finds no serious or
critical accessibility violation, and the English catalogue turns the page English."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.conftest import (
    Browser,
    People,
    add_finding,
    login,
    make_person,
    my_number,
    operator_login,
    staff_record,
)

TENANT_PAGES = {
    "admin": [
        "/console",
        "/console/users",
        "/console/terminals",
        "/console/grants",
        "/console/audit",
        "/console/activity",
    ],
    "clerk": ["/console/mynumber"],
}


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the look of a page does not depend on the engine


def serious_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def check_page(page: Any, name: str, phone: bool, artefacts: Path) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= (390 if phone else 1920), (name, width)  # no sideways scrolling
    assert serious_violations(page) == [], name
    shot = artefacts / f"{name}-{'phone' if phone else 'desktop'}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5_000
    # Japanese text renders with a Japanese font (not tofu): glyphs have width.
    assert page.evaluate("document.fonts.check('16px sans-serif', 'あ')")


def test_main_pages_on_a_desktop_and_a_phone(
    chromium: Browser, people: People, artefacts: Path
) -> None:
    with httpx.Client(base_url=chromium.server.url) as api:
        staff_record(api, people.tenant, "S-1")
    # One admin per viewport: a TOTP code is good for one login only.
    admins = [
        people.admin,
        make_person(chromium.server.runtime, people.tenant.id, "管理 二郎", ["tenant_admin"]),
    ]
    for phone in (False, True):
        page = chromium.page(phone=phone)
        page.goto(chromium.url("/console/login"))
        check_page(page, "login", phone, artefacts)
        for role, paths in TENANT_PAGES.items():
            person = admins[phone] if role == "admin" else getattr(people, role)
            login(chromium, page, person)
            if role == "clerk" and not phone:
                page.goto(chromium.url("/console/mynumber"))
                page.fill("#record_id", "S-1")
                page.fill("#number", my_number())
                with page.expect_navigation():
                    page.click("#register-number button[type=submit]")
            for path in paths:
                page.goto(chromium.url(path))
                assert page.url == chromium.url(path), (page.url, path)
                name = path.strip("/").replace("/", "-")
                check_page(page, name, phone, artefacts)
            page.context.clear_cookies()
        assert page.problems == [], page.problems
        page.context.close()


OPERATOR_PAGES = [
    "/console/ops",
    "/console/ops/incidents",
    "/console/ops/maintenance",
    "/console/ops/findings",
    "/console/ops/jobs",
    "/console/ops/ips",
]


def test_operator_pages_on_a_desktop_and_a_phone(
    chromium: Browser, make_operator: Callable[..., Any], artefacts: Path
) -> None:
    add_finding(chromium.server.runtime)
    for phone in (False, True):
        operator = make_operator(roles=("auditor", "operations_manager", "incident_response"))
        page = chromium.page(phone=phone)
        page.goto(chromium.url("/console/ops/login"))
        check_page(page, "ops-login", phone, artefacts)
        operator_login(chromium, page, operator)
        for path in OPERATOR_PAGES:
            page.goto(chromium.url(path))
            assert page.url == chromium.url(path), (page.url, path)
            check_page(page, path.strip("/").replace("/", "-"), phone, artefacts)
        assert page.problems == [], page.problems
        page.context.close()


def test_english_from_the_browser_language_and_the_switch(
    chromium: Browser, people: People
) -> None:
    page = chromium.page(lang="en-US")
    page.goto(chromium.url("/console/login"))
    assert page.inner_text("h1") == "Log in"
    login(chromium, page, people.admin)
    page.goto(chromium.url("/console/users"))
    assert page.inner_text("h1") == "Users"
    assert "Create a user" in page.inner_text("main")
    with page.expect_navigation():
        page.click("button[lang=ja]")  # the user's own setting wins over the browser's
    assert page.inner_text("h1") == "ユーザー"
    page.goto(chromium.url("/console"))
    assert page.inner_text("h1") == "ダッシュボード"
    # Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
