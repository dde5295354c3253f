"""``reports.weekly``: every Monday 09:00 JST, last week's operations report (REP-1) is
generated, stored for the operator API and mailed to the operations managers (運用責任者)
and ``HOKAN_REPORT_EMAILS``. Regenerating a week replaces its stored report."""

from __future__ import annotations

from hokan.identity import operators
from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.models import StoredReport
from hokan.principals.principal import SYSTEM
from hokan.principals.roles import Role
from hokan.reports.period import Week
from hokan.reports.service import Reports
from hokan.settings import Settings
from hokan.tenants.notices import notify

MAIL_KIND = "reports.weekly"


def mail_body(settings: Settings, row: StoredReport, week: Week) -> str:
    sections = row.summary.get("sections", {})
    lines = [
        "運用責任者 各位",
        "",
        f"{week.label_ja()} の運用レポートを作成しました。",
        "",
    ]
    if row.summary.get("empty"):
        lines.append(
            "この週に記録されたデータはありません。監視・バックアップの稼働を確認してください。"
        )
    else:
        missing = [k for k, has in sections.items() if not has]
        lines.append(f"記録のある項目: {len(sections) - len(missing)} / {len(sections)}")
    base = f"{settings.resolved_public_url}/api/v1/operator/reports/{row.id}/download"
    lines += [
        "",
        "ダウンロード (運用端末から、運用者のセッションで):",
        *(f"  {fmt.upper()}: {base}?format={fmt}" for fmt in ("pdf", "xlsx", "html")),
        "",
        "---",
        f"The weekly operations report for {week} is ready: {base}?format=pdf",
    ]
    return "\n".join(lines) + "\n"


def _weekly(host: JobHost) -> JobResult:
    week = Week.last_complete(host.now())
    reports = Reports(host.settings)
    with host.db.session(write=True, system=True) as s:
        row = reports.generate_weekly(s, SYSTEM, week, now=host.now())
        to = [*operators.emails_with_role(s, Role.operations_manager), *host.settings.report_emails]
        mail = notify(
            s,
            "reports.weekly",
            tenant=None,
            subject=f"【Hokan】運用レポート {week} / Weekly operations report",
            body=mail_body(host.settings, row, week),
            operators=to,
        )
        return JobResult(
            {
                "week": str(week),
                "report": str(row.id),
                "empty": bool(row.summary.get("empty")),
                "recipients": len(mail.recipients) if mail else 0,
            }
        )


WEEKLY = Job(
    "reports.weekly",
    "0 9 * * 1",  # Mondays 09:00 JST (cron numbering: 1 is Monday)
    _weekly,
    "先週の運用レポート (HTML・XLSX・PDF) を作成・保存し、運用責任者へメール (毎週月曜 9:00)",
    "Generate and store last week's operations report (HTML, XLSX, PDF), mail the managers",
)

JOBS = (WEEKLY,)
