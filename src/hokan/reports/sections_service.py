"""メンテナンス情報 and 障害状況 of the weekly report (REP-1)."""

from __future__ import annotations

from hokan.models import Incident
from hokan.monitoring.maintenance import status_of
from hokan.reports import repository as repo
from hokan.reports.context import Ctx, jst
from hokan.reports.document import Cell, Section, Table

WINDOW_STATUS_JA = {
    "scheduled": "予定",
    "in_progress": "実施中",
    "completed": "実施済み",
    "cancelled": "中止",
}
OUTAGE_JA = {"full": "完全停止", "partial": "部分停止"}
INCIDENT_STATUS_JA = {"open": "対応中", "acknowledged": "対応中 (確認済み)", "resolved": "復旧"}


def maintenance(c: Ctx) -> Section:
    section = Section("maintenance", "メンテナンス情報")
    section.paragraphs.append(
        f"計画停止は {c.settings.maintenance_notice_days} 日前までにメールと本サービスで"
        "お知らせします (緊急の場合を除く)。"
    )
    rows = repo.windows(c.session, c.scope, c.start, c.end)
    if not rows:
        section.has_data = False
        section.paragraphs.append("この週に実施・告知されたメンテナンスはありません。")
        return section
    table: list[list[Cell]] = []
    for w in rows:
        minutes = int((w.ends_at - w.starts_at).total_seconds() // 60)
        target = "サービス全体" if w.tenant_id is None else "個別"
        table.append(
            [
                jst(w.starts_at),
                jst(w.ends_at),
                minutes,
                target,
                w.reason_ja,
                "緊急" if w.emergency else "",
                jst(w.announced_at),
                WINDOW_STATUS_JA.get(status_of(w, c.now), ""),
            ]
        )
    section.tables.append(
        Table(
            ["開始", "終了", "停止時間 (分)", "対象", "内容", "緊急", "告知日時", "状態"],
            table,
            "実施・予定のメンテナンス",
        )
    )
    done = sum(1 for w in rows if status_of(w, c.now) == "completed")
    section.paragraphs.append(f"実施済み {done} 件、予定・告知 {len(rows) - done} 件。")
    return section


def _minutes(i: Incident, c: Ctx) -> int:
    end = i.resolved_at or c.now
    lo, hi = max(i.started_at, c.start), min(end, c.end)
    return max(0, int((hi - lo).total_seconds() // 60))


def incidents(c: Ctx) -> Section:
    section = Section("incidents", "障害状況")
    rows = repo.incidents(c.session, c.scope, c.start, c.end)
    if not rows:
        section.has_data = False
        section.paragraphs.append("この週に発生・継続した障害はありません。")
        return section
    table: list[list[Cell]] = []
    for i in rows:
        notified = (
            None
            if i.notified_at is None
            else round((i.notified_at - i.detected_at).total_seconds() / 60, 1)
        )
        table.append(
            [
                i.number,
                jst(i.started_at),
                jst(i.resolved_at) or "継続中",
                OUTAGE_JA.get(i.outage, i.outage),
                _minutes(i, c),
                INCIDENT_STATUS_JA.get(i.status, i.status),
                notified,
            ]
        )
    section.tables.append(
        Table(
            ["番号", "発生日時", "復旧日時", "区分", "この週の停止 (分)", "状態", "通知まで (分)"],
            table,
            "障害の一覧",
        )
    )
    details: list[list[Cell]] = [
        [i.number, i.cause or i.title_ja, i.response or "—", i.prevention or "—"] for i in rows
    ]
    section.tables.append(Table(["番号", "停止理由", "対応", "予防"], details, "停止の詳細"))
    section.paragraphs.append(
        f"障害 {len(rows)} 件 (うち継続中 {sum(1 for i in rows if i.resolved_at is None)} 件)。"
    )
    return section
