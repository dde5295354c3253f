"""Reports as a service (REP-1, REP-2): generate, store, list and download.

Generating the same kind, period and scope again replaces the stored report (the
weekly job may run twice; an operator may regenerate after a late record). Every
action is audited on the system chain by the service, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hokan.audit.actions import action, succeeded
from hokan.kit.clock import iso, utcnow
from hokan.models import StoredReport, Tenant
from hokan.monitoring.availability import Month
from hokan.principals.principal import Principal
from hokan.reports import availability, pdf, render, weekly
from hokan.reports import repository as repo
from hokan.reports.document import Document
from hokan.reports.errors import ReportNotFound, UnknownReportFormat, UnknownTenant
from hokan.reports.period import Week
from hokan.reports.repository import Scope
from hokan.settings import Settings
from hokan.tenants.repository import TenantRepository

FORMATS = {
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
WEEKLY, AVAILABILITY = "weekly", "availability"


def render_all(doc: Document) -> dict[str, bytes]:
    return {"html": render.html(doc), "xlsx": render.xlsx(doc), "pdf": pdf.pdf(doc)}


def render_one(doc: Document, fmt: str) -> bytes:
    if fmt == "html":
        return render.html(doc)
    if fmt == "xlsx":
        return render.xlsx(doc)
    if fmt == "pdf":
        return pdf.pdf(doc)
    if fmt == "md":
        return render.markdown(doc)
    raise UnknownReportFormat()


def scope_of(session: Session, tenant_code: str | None) -> Scope:
    if not tenant_code:
        return Scope()
    tenant = TenantRepository(session).by_code(tenant_code)
    if tenant is None:
        raise UnknownTenant()
    return _scope(tenant)


def _scope(tenant: Tenant) -> Scope:
    return Scope(tenant.id, tenant.code, tenant.name)


def report_json(r: StoredReport) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "kind": r.kind,
        "period": r.period,
        "period_start": iso(r.period_start),
        "period_end": iso(r.period_end),
        "scope": "tenant" if r.tenant_id else "all",
        "tenant_id": str(r.tenant_id) if r.tenant_id else None,
        "created_at": iso(r.created_at),
        "created_by": r.created_by,
        "summary": r.summary,
        "formats": sorted(FORMATS),
    }


def file_name(r: StoredReport, fmt: str) -> str:
    scope = "" if r.tenant_id is None else f"-{str(r.tenant_id)[:8]}"
    return f"hokan-{r.kind}-{r.period}{scope}.{fmt}"


class Reports:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def weekly_document(
        self, session: Session, week: Week, scope: Scope, *, now: datetime | None = None
    ) -> Document:
        return weekly.build(session, self.settings, week, scope, now=now or utcnow())

    def store(
        self,
        session: Session,
        kind: str,
        period: str,
        bounds: tuple[datetime, datetime],
        scope: Scope,
        doc: Document,
        summary: dict[str, Any],
        created_by: str,
    ) -> StoredReport:
        files = render_all(doc)
        row = repo.stored(session, kind, period, scope.key)
        if row is None:
            row = StoredReport(kind=kind, period=period, scope=scope.key)
            session.add(row)
        row.period_start, row.period_end = bounds
        row.tenant_id = scope.tenant_id
        row.created_at = utcnow()
        row.created_by = created_by[:100]
        row.summary = summary
        row.html, row.xlsx, row.pdf = files["html"], files["xlsx"], files["pdf"]
        session.flush()
        return row

    @action("reports.generate", "report", lambda week, tenant_code=None, **_: str(week))
    def generate_weekly(
        self,
        session: Session,
        principal: Principal,
        week: Week,
        tenant_code: str | None = None,
        *,
        now: datetime | None = None,
    ) -> StoredReport:
        """Build the week's report (or a tenant's variant), render every format, store it."""
        scope = scope_of(session, tenant_code)
        doc = self.weekly_document(session, week, scope, now=now)
        row = self.store(
            session,
            WEEKLY,
            str(week),
            (week.start, week.end),
            scope,
            doc,
            weekly.summary(doc),
            principal.display_name,
        )
        succeeded(
            session,
            principal,
            detail={"kind": WEEKLY, "scope": "tenant" if scope.is_tenant else "all"},
            target_id=str(row.id),
        )
        return row

    @action("reports.generate", "report", lambda first, last, **_: f"{first}..{last}")
    def generate_availability(
        self,
        session: Session,
        principal: Principal,
        first: Month,
        last: Month,
        *,
        now: datetime | None = None,
    ) -> StoredReport:
        """The availability report for ``first``..``last`` (REP-2), every format, stored."""
        moment = now or utcnow()
        doc = availability.build(session, self.settings, first, last, now=moment)
        period = str(first) if first == last else f"{first}..{last}"
        row = self.store(
            session,
            AVAILABILITY,
            period,
            (first.start, last.next().start),
            Scope(),
            doc,
            {"incidents": len(doc.section("details").tables)},
            principal.display_name,
        )
        succeeded(
            session,
            principal,
            detail={"kind": AVAILABILITY, "scope": "all"},
            target_id=str(row.id),
        )
        return row

    @action("reports.tenant_weekly", "report", lambda week, fmt, **_: f"{week}.{fmt}")
    def tenant_weekly(
        self,
        session: Session,
        principal: Principal,
        week: Week,
        fmt: str,
        *,
        now: datetime | None = None,
    ) -> tuple[str, bytes]:
        """The caller's own tenant's copy of the week's report (never stored, never
        another tenant's figures: the scope is the caller's tenant)."""
        if fmt not in FORMATS:
            raise UnknownReportFormat()
        tenant = TenantRepository(session).get(principal.tenant_id) if principal.tenant_id else None
        if tenant is None:
            raise UnknownTenant()
        doc = self.weekly_document(session, week, _scope(tenant), now=now)
        data = render_one(doc, fmt)
        succeeded(session, principal, detail={"format": fmt, "bytes": len(data)})
        return f"hokan-weekly-{week}-{tenant.code}.{fmt}", data

    @action("reports.list", "report")
    def listing(
        self, session: Session, principal: Principal, kind: str | None = None, limit: int = 100
    ) -> Sequence[StoredReport]:
        rows = repo.stored_list(session, kind, limit)
        succeeded(session, principal, detail={"count": len(rows)})
        return rows

    @action("reports.download", "report", lambda report_id, fmt: f"{report_id}.{fmt}")
    def download(
        self, session: Session, principal: Principal, report_id: str, fmt: str
    ) -> tuple[StoredReport, bytes]:
        if fmt not in FORMATS:
            raise UnknownReportFormat()
        try:
            rid = uuid.UUID(report_id)
        except ValueError:
            raise ReportNotFound() from None
        row = session.get(StoredReport, rid)
        if row is None:
            raise ReportNotFound()
        data: bytes = getattr(row, fmt)
        succeeded(session, principal, detail={"format": fmt, "bytes": len(data)})
        return row, data
