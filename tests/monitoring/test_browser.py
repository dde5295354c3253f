"""The status page in a real headless Chromium (UI-3, UI-4): Japanese text renders, the
inline style runs under the page's CSP, nothing overflows a phone, and screenshots at
1920×1080 and 390×844 are saved under the test's tmp dir.

Debian's ``chromium`` with Playwright from PyPI (no browser download). Skipped only
when Chromium is not installed and ``CI`` is unset; in CI a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.monitoring.conftest import add_incident, add_span, add_window

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the page's data is tested on both engines in test_status_page.py


def _browser_or_skip() -> Any:
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


def test_the_status_page_renders_in_chromium_on_a_desktop_and_a_phone(
    live_server: LiveServer, tmp_path: Path
) -> None:
    sync_playwright = _browser_or_skip()
    runtime = live_server.runtime
    add_incident(
        runtime,
        outage="partial",
        functions=["attachments"],
        title_ja="添付ファイルを保存できません",
        title_en="Attachments cannot be stored",
        updates=[("detected", "ファイル保管の応答がありません", "The blob store does not answer")],
    )
    add_window(runtime, start=timedelta(days=15), reason_ja="データベースの定期更新")
    add_span(runtime, "api", "up")
    add_span(runtime, "blob_store", "down")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            shots: dict[str, Path] = {}
            for name, viewport, mobile in (
                ("desktop", {"width": 1920, "height": 1080}, False),
                ("phone", {"width": 390, "height": 844}, True),
            ):
                context = browser.new_context(
                    viewport=viewport, is_mobile=mobile, locale="ja-JP", device_scale_factor=1
                )
                page = context.new_page()
                problems: list[str] = []
                page.on(
                    "console",
                    lambda m, problems=problems: (
                        problems.append(m.text) if m.type == "error" else None
                    ),
                )
                page.on("requestfailed", lambda r, problems=problems: problems.append(r.url))
                response = page.goto(f"{live_server.url}/status", wait_until="load")
                assert response is not None and response.status == 200
                assert page.inner_text("h1") == "Hokan 稼働状況"
                body = page.inner_text("body")
                for text in (
                    "添付ファイルを保存できません",
                    "メンテナンス予定",
                    "ファイル保管",
                    "停止",
                ):
                    assert text in body, text
                # The inline stylesheet ran (the CSP nonce matched): the banner is coloured.
                colour = page.eval_on_selector(
                    ".banner", "e => getComputedStyle(e).backgroundColor"
                )
                assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), colour
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], (name, width)  # no sideways scrolling
                assert problems == [], problems  # no CSP violation, nothing failed to load
                shots[name] = tmp_path / f"status-{name}.png"
                page.screenshot(path=str(shots[name]), full_page=True)
                if mobile:
                    page.click("text=English")
                    page.wait_for_load_state("load")
                    assert page.inner_text("h1") == "Hokan status"
                context.close()
        finally:
            browser.close()
    for path in shots.values():
        assert path.stat().st_size > 10_000, path
