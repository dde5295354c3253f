"""The operator console over HTTP on SQLite and PostgreSQL: incidents from opening to
resolution (the banner shows meanwhile), the 14-day rule by the field, findings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hokan.kit.clock import to_jst, utcnow
from hokan.runtime import Runtime
from tests.conftest import OPERATOR_PASSWORD
from tests.console.conftest import add_finding
from tests.console.helpers import console_client, post


def _login(browser: Any, operator: Any) -> None:
    r = browser.post(
        "/console/ops/login",
        data={"serial": operator.serial, "password": OPERATOR_PASSWORD, "otp": operator.code()},
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/ops"


def test_an_incident_is_opened_reported_and_resolved(
    runtime: Runtime, make_operator: Callable[..., Any]
) -> None:
    responder = make_operator(roles=("incident_response",))
    with console_client(runtime) as browser:
        _login(browser, responder)
        r = post(
            browser,
            "/console/ops/incidents",
            {
                "outage": "partial",
                "title_ja": "添付ファイルを保存できません",
                "message_ja": "調査中",
            },
        )
        assert r.status_code == 303
        page = r.headers["location"]
        number = page.rsplit("/", 1)[1]
        shown = browser.get(page)
        assert "添付ファイルを保存できません" in shown.text and "調査中" in shown.text
        assert 'class="banner incident"' in shown.text and 'href="/status"' in shown.text
        r = post(
            browser, f"{page}/updates", {"message_ja": "原因を特定しました", "acknowledge": "1"}
        )
        assert r.status_code == 303 and "原因を特定しました" in browser.get(page).text
        r = post(
            browser,
            f"{page}/resolve",
            {"message_ja": "復旧しました", "cause": "ディスクの枯渇", "prevention": "監視の追加"},
        )
        assert r.status_code == 303
        done = browser.get(page).text
        assert (
            "ディスクの枯渇" in done
            and "監視の追加" in done
            and 'id="resolve-incident"' not in done
        )
        assert 'class="banner incident"' not in browser.get("/console/ops").text
        listed = browser.get("/console/ops/incidents").text
        assert number in listed


def test_maintenance_keeps_the_fourteen_day_rule_by_the_field(
    runtime: Runtime, make_operator: Callable[..., Any]
) -> None:
    manager = make_operator(roles=("operations_manager",))
    soon = to_jst(utcnow() + timedelta(days=13)).replace(hour=2, minute=0, second=0)
    later = soon + timedelta(days=2)
    fmt = "%Y-%m-%dT%H:%M"
    with console_client(runtime) as browser:
        _login(browser, manager)
        page = browser.get("/console/ops/maintenance").text
        assert "14日以上前" in page
        data = {
            "starts_at": soon.strftime(fmt),
            "ends_at": (soon + timedelta(hours=2)).strftime(fmt),
            "reason_ja": "データベースの定期更新",
            "reads_allowed": "1",
        }
        r = post(browser, "/console/ops/maintenance", data)
        assert r.status_code == 422
        assert 'id="starts_at-error"' in r.text and "maintenance_notice_too_short" in r.text
        assert 'value="データベースの定期更新"' in r.text
        data |= {
            "starts_at": later.strftime(fmt),
            "ends_at": (later + timedelta(hours=2)).strftime(fmt),
        }
        assert post(browser, "/console/ops/maintenance", data).status_code == 303
        listed = browser.get("/console/ops/maintenance").text
        assert "データベースの定期更新" in listed
        window_id = listed.split('id="window-')[1].split('"')[0]
        assert post(browser, f"/console/ops/maintenance/{window_id}/cancel").status_code == 303
        assert "データベースの定期更新" not in browser.get("/console/ops/maintenance").text
        r = post(browser, "/console/ops/maintenance", {**data, "starts_at": "yesterday"})
        assert r.status_code == 400 and 'id="starts_at-error"' in r.text


def test_an_auditor_acknowledges_a_finding(
    runtime: Runtime, make_operator: Callable[..., Any]
) -> None:
    finding = add_finding(runtime, "深夜の一括閲覧")
    auditor = make_operator(roles=("auditor",))
    with console_client(runtime) as browser:
        _login(browser, auditor)
        assert "深夜の一括閲覧" in browser.get("/console/ops/findings").text
        r = post(browser, f"/console/ops/findings/{finding}/acknowledge", {"comment": ""})
        assert r.status_code == 400 and f'id="comment-{finding}-error"' in r.text
        r = post(browser, f"/console/ops/findings/{finding}/acknowledge", {"comment": "確認済み"})
        assert r.status_code == 303
        assert "深夜の一括閲覧" not in browser.get("/console/ops/findings").text
        done = browser.get("/console/ops/findings?status=acknowledged").text
        assert "深夜の一括閲覧" in done and "確認済み" in done
        assert browser.get("/console/ops/jobs").status_code == 200
        assert browser.get("/console/ops/ips").status_code == 200
