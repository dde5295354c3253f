"""Reports over the operator API and the weekly job: generate, list, download by format;
role checks and the exact audit trail (ADR 0014); the Monday job mails the managers."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from hokan.jobs import runner
from hokan.jobs.registry import Registry
from hokan.jobs.worker import WorkerHost
from hokan.kit.clock import JST
from hokan.models import MailMessage, StoredReport
from hokan.reports.period import Week
from hokan.runtime import Runtime
from tests.conftest import OperatorHandle, TenantHandle
from tests.identity.test_operators import op_login
from tests.reports.conftest import fill_week
from tests.route_audit import only, refused, trail

R = "/api/v1/operator/reports"
MISSING = "00000000-0000-4000-8000-000000000000"


def test_generate_list_and_download(
    runtime: Runtime,
    ops_client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    mine = make_tenant()
    filled = fill_week(runtime, mine, make_tenant())
    manager = op_login(ops_client, make_operator(("operations_manager",)))
    auditor = op_login(ops_client, make_operator(("auditor",)))
    support = op_login(ops_client, make_operator(("operations_support",)))

    with trail(runtime) as found:
        r = ops_client.post(f"{R}/weekly", headers=manager, json={"week": str(filled.week)})
    assert r.status_code == 201, r.text
    only(found, "reports.generate", "success")
    report = r.json()
    assert report["kind"] == "weekly" and report["period"] == str(filled.week)
    assert report["scope"] == "all" and report["summary"]["empty"] is False

    with trail(runtime) as found:
        again = ops_client.post(f"{R}/weekly", headers=manager, json={"week": str(filled.week)})
    assert again.json()["id"] == report["id"]  # the week's report is replaced, not doubled
    with trail(runtime) as found:
        assert ops_client.post(f"{R}/weekly", headers=auditor, json={}).status_code == 403
    refused(found, "operator.role_denied", "reports.generate")
    with trail(runtime) as found:
        bad = ops_client.post(f"{R}/weekly", headers=manager, json={"week": "2999-W01"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_week"
    with trail(runtime) as found:
        nobody = ops_client.post(f"{R}/weekly", headers=manager, json={"tenant": "nobody"})
    assert nobody.status_code == 400 and nobody.json()["error"] == "report_unknown_tenant"
    only(found, "reports.generate", "error")

    own = ops_client.post(
        f"{R}/weekly", headers=manager, json={"week": str(filled.week), "tenant": mine.tenant.code}
    ).json()
    assert own["scope"] == "tenant" and own["tenant_id"] == str(mine.id)
    monthly = ops_client.post(f"{R}/availability", headers=manager, json={})
    assert monthly.status_code == 201 and monthly.json()["kind"] == "availability"

    with trail(runtime) as found:
        listed = ops_client.get(R, headers=auditor)
    assert listed.status_code == 200
    only(found, "reports.list", "success")
    assert {x["id"] for x in listed.json()} == {report["id"], own["id"], monthly.json()["id"]}
    weekly_only = ops_client.get(f"{R}?kind=weekly", headers=auditor).json()
    assert {x["kind"] for x in weekly_only} == {"weekly"}
    with trail(runtime) as found:
        assert ops_client.get(R, headers=support).status_code == 403
    refused(found, "operator.role_denied", "reports.list")

    url = f"{R}/{report['id']}/download"
    with trail(runtime) as found:
        pdf = ops_client.get(f"{url}?format=pdf", headers=auditor)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert f"hokan-weekly-{filled.week}.pdf" in pdf.headers["content-disposition"]
    only(found, "reports.download", "success")
    xlsx = ops_client.get(f"{url}?format=xlsx", headers=auditor)
    assert "障害状況" in load_workbook(io.BytesIO(xlsx.content)).sheetnames
    html = ops_client.get(f"{url}?format=html", headers=auditor)
    assert html.headers["content-type"].startswith("text/html") and "運用レポート" in html.text
    with trail(runtime) as found:
        wrong = ops_client.get(f"{url}?format=docx", headers=auditor)
    assert wrong.status_code == 400 and wrong.json()["error"] == "unknown_report_format"
    only(found, "reports.download", "error")
    with trail(runtime) as found:
        missing = ops_client.get(f"{R}/{MISSING}/download", headers=auditor)
    assert missing.status_code == 404 and missing.json()["error"] == "report_not_found"
    only(found, "reports.download", "error")
    with trail(runtime) as found:
        assert ops_client.get(f"{url}?format=pdf", headers=support).status_code == 403
    refused(found, "operator.role_denied", "reports.download")


def test_the_monday_job_stores_and_mails_last_weeks_report(
    runtime: Runtime, make_operator: Callable[..., OperatorHandle]
) -> None:
    make_operator(("operations_manager",))
    make_operator(("auditor",))  # not a recipient
    registry = Registry(runtime.settings)
    job = registry.get("reports.weekly")
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=JST)
    assert job.next_fire(datetime(2026, 11, 27, 12, 0, tzinfo=JST)) == monday
    now = monday.astimezone(UTC)
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve, lambda: now)
    for _ in range(2):  # a second run replaces the week's report
        outcome = runner.execute(host, job, trigger="manual")
        assert outcome.status == "ok", outcome
    with runtime.db.session(system=True) as s:
        rows = s.scalars(select(StoredReport)).all()
        mails = s.scalars(select(MailMessage).where(MailMessage.kind == "reports.weekly")).all()
    assert [(r.kind, r.period) for r in rows] == [("weekly", str(Week(2026, 48)))]
    assert rows[0].summary["empty"] is True  # a week without records: a report, no error
    assert len(mails) == 2 and mails[0].recipients == ["ops@hokan.example"]
    assert "2026-W48" in mails[0].subject and f"/reports/{rows[0].id}/download" in mails[0].body


def test_a_tenant_admin_downloads_its_own_copy(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    mine, other = make_tenant(), make_tenant()
    filled = fill_week(runtime, mine, other)
    url = f"/api/v1/tenant/reports/weekly?week={filled.week}&format=html"
    with trail(runtime) as found:
        r = client.get(url, headers=mine.headers)
    assert r.status_code == 200, r.text
    only(found, "reports.tenant_weekly", "success")
    assert mine.tenant.code in r.text and filled.incident_number in r.text
    assert other.tenant.code not in r.text and filled.other_incident_number not in r.text
    assert "203.0.113.9" not in r.text and "EICAR" not in r.text
    pdf = client.get(f"/api/v1/tenant/reports/weekly?week={filled.week}", headers=mine.headers)
    assert (
        pdf.content.startswith(b"%PDF") and mine.tenant.code in pdf.headers["content-disposition"]
    )
    bad = client.get("/api/v1/tenant/reports/weekly?format=doc", headers=mine.headers)
    assert bad.status_code == 400 and bad.json()["error"] == "unknown_report_format"
    reader = make_tenant(scopes=frozenset({"records:read"}))
    assert client.get(url, headers=reader.headers).status_code == 403
    assert client.get(url).status_code == 401
