"""Console fixtures: a tenant with an admin (TOTP on), a clerk and a staff user; a live
server; Debian's headless Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import update

from hokan.identity import mfa
from hokan.models import Tenant, User
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.conftest import LiveServer, TenantHandle, create_user
from tests.pki import init_ca

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "春の小川はさらさら行くよ"
TIMEOUT_MS = 60_000  # a loaded two-core machine: generous, and waits end as soon as ready


@dataclass
class Person:
    serial: str
    name: str
    totp_secret: str | None = None

    def code(self) -> str:
        assert self.totp_secret
        return pyotp.TOTP(self.totp_secret).at(time.time())


@dataclass
class People:
    tenant: TenantHandle
    admin: Person
    clerk: Person
    staff: Person


def make_person(
    runtime: Runtime, tenant_id: Any, name: str, roles: list[str], totp: bool = False
) -> Person:
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        user, _ = create_user(
            s,
            runtime.passwords,
            tenant,
            name=name,
            email=f"{roles[0]}@example.jp",
            roles=roles,
            password=PASSWORD,
            actor=SYSTEM,
        )
        secret = None
        if totp:
            s.flush()
            secret, _uri = mfa.begin(s, runtime.keyring, user)
            s.refresh(user)
            mfa.enable(s, runtime.keyring, user, pyotp.TOTP(secret).now())
            # The enabling code's step would be spent: the test's login may reuse it.
            s.execute(update(User).where(User.id == user.id).values(totp_last_step=0))
        return Person(user.serial, name, secret)


@pytest.fixture
def people(runtime: Runtime, make_tenant: Callable[..., TenantHandle]) -> People:
    init_ca(runtime)
    t = make_tenant()
    return People(
        t,
        make_person(runtime, t.id, "管理 太郎", ["tenant_admin"], totp=True),
        make_person(runtime, t.id, "事務 花子", ["mynumber_clerk"]),
        make_person(runtime, t.id, "一般 次郎", ["staff_user"]),
    )


def browser_or_skip() -> Any:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("Debian's chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("playwright (pip install playwright)")
        sync_playwright = None
    if missing:
        reason = "headless Chromium test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture
def artefacts() -> Path:
    """Screenshots land here (not committed): HOKAN_TEST_ARTEFACTS or tmp/artefacts."""
    root = Path(os.environ.get("HOKAN_TEST_ARTEFACTS", "tmp/artefacts")) / "console"
    root.mkdir(parents=True, exist_ok=True)
    return root


@dataclass
class Browser:
    server: LiveServer
    browser: Any

    def page(self, *, phone: bool = False, lang: str = "ja-JP") -> Any:
        viewport = {"width": 390, "height": 844} if phone else {"width": 1920, "height": 1080}
        context = self.browser.new_context(
            viewport=viewport,
            is_mobile=phone,
            locale=lang,
            device_scale_factor=1,
            accept_downloads=True,
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.problems = []

        def noted(m: Any) -> None:
            # A refused form answers 4xx by design; anything else (a CSP violation, a
            # script error, an asset that failed) is a problem.
            if m.type == "error" and "server responded with a status of 4" not in m.text:
                page.problems.append(m.text)

        page.on("console", noted)
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        return page

    def url(self, path: str) -> str:
        return self.server.url + path


@pytest.fixture
def chromium(live_server: LiveServer) -> Iterator[Browser]:
    sync_playwright = browser_or_skip()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield Browser(live_server, browser)
        finally:
            browser.close()


def login(b: Browser, page: Any, person: Person, password: str = PASSWORD, ok: bool = True) -> None:
    page.goto(b.url("/console/login"))
    page.fill("#serial", person.serial)
    page.fill("#password", password)
    if person.totp_secret:
        page.fill("#otp", person.code())
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    if ok:
        assert "/login" not in page.url, page.inner_text("main")


def my_number(first11: str = "12345678901") -> str:
    from hokan.vault.numbers import individual_check_digit

    return first11 + str(individual_check_digit(first11))


def staff_record(client: Any, tenant: TenantHandle, record_id: str = "S-001") -> None:
    """A staff member's record (a My Number is linked to one, never to a name)."""
    r = client.put(
        f"/api/v1/collections/staff/records/{record_id}",
        json={"name": "派遣 四郎"},
        headers=tenant.headers,
    )
    assert r.status_code in (200, 201), r.text


def add_finding(runtime: Runtime, summary: str = "深夜の一括閲覧") -> str:
    """An open finding of the daily internal audit, for an auditor to acknowledge."""
    from datetime import date

    from hokan.models import AuditFinding

    with runtime.db.session(write=True, system=True) as s:
        row = AuditFinding(
            audit_date=date(2026, 12, 4),
            rule="night_bulk_read",
            severity="high",
            subject=f"user:{summary}",
            actor="管理 太郎",
            summary=summary,
            entry_count=3,
        )
        s.add(row)
        s.flush()
        return str(row.id)


def operator_login(b: Browser, page: Any, operator: Any) -> None:
    from tests.conftest import OPERATOR_PASSWORD

    page.goto(b.url("/console/ops/login"))
    page.fill("#serial", operator.serial)
    page.fill("#password", OPERATOR_PASSWORD)
    page.fill("#otp", operator.code())
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    assert "/login" not in page.url, page.inner_text("main")
