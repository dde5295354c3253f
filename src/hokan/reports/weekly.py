"""The weekly operations report (REP-1, 運用レポート; whitepaper §1-2-2): every category
for one JST week, for the whole service or one tenant's own figures.

A week without records is a report that says so, category by category — not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from hokan import __version__
from hokan.reports import sections_infra as infra
from hokan.reports import sections_security as security
from hokan.reports import sections_service as service
from hokan.reports.context import Ctx, jst
from hokan.reports.document import Cell, Document, Section, Table
from hokan.reports.period import Week
from hokan.reports.repository import Scope
from hokan.settings import Settings

TITLE = "運用レポート"
# (builder, 報告組織) in the whitepaper's order: 環境保守 first, then 内部監査 …
BUILDERS: tuple[tuple[Callable[[Ctx], Section], str], ...] = (
    (infra.backup, "環境保守チーム"),
    (infra.liveness, "環境保守チーム"),
    (infra.hardware, "環境保守チーム"),
    (security.malware, "環境保守チーム"),
    (security.intrusion, "環境保守チーム"),
    (infra.load, "環境保守チーム"),
    (security.internal_audit, "監査者"),
    (security.clock, "運用責任者"),
    (service.maintenance, "運用責任者"),
    (service.incidents, "障害対応チーム"),
)
CATEGORY = {
    "backup": "環境保守",
    "liveness": "環境保守",
    "hardware": "環境保守",
    "malware": "環境保守",
    "intrusion": "環境保守",
    "load": "環境保守",
    "audit": "内部監査",
    "clock": "メンテナンス情報",
    "maintenance": "メンテナンス情報",
    "incidents": "障害状況",
}
EMPTY_WEEK = "この週に記録されたデータはありません (監視・バックアップ等の記録が見つかりません)。"


def build(
    session: Session, settings: Settings, week: Week, scope: Scope, *, now: datetime
) -> Document:
    c = Ctx(session, scope, week, settings, now)
    sections: list[Section] = []
    teams: dict[str, str] = {}
    for builder, team in BUILDERS:
        s = builder(c)
        teams[s.key] = team
        sections.append(s)
    rows: list[list[Cell]] = [
        [CATEGORY[s.key], s.title, s.paragraphs[-1] if s.paragraphs else "", teams[s.key]]
        for s in sections
    ]
    empty = not any(s.has_data for s in sections)
    overview = Section(
        "overview",
        "概要",
        [EMPTY_WEEK] if empty else [f"{len(sections)} 項目の運用状況を報告します。"],
        [Table(["カテゴリ", "報告内容", "結果", "報告組織"], rows)],
        has_data=not empty,
    )
    target = (
        f"{scope.tenant_name} ({scope.tenant_code}) 様 — 貴社分のみ"
        if scope.is_tenant
        else "サービス全体 (運用者向け)"
    )
    facts = [
        ("対象期間", week.label_ja()),
        ("対象", target),
        ("作成日時", jst(now) + " (日本時間)"),
        ("報告頻度", "1回/週 (毎週月曜 09:00 に作成)"),
    ]
    if now < week.end:
        facts.append(("注記", "週の途中で作成したため、作成時点までの値です。"))
    return Document(
        TITLE,
        f"{week.year}年 第{week.number}週",
        facts,
        [overview, *sections],
        notes=[
            "時刻はすべて日本標準時 (JST) です。",
            f"Hokan {__version__} が運用記録 (監査ログ・監視台帳・ジョブ履歴) から"
            "自動作成しました。",
        ],
    )


def summary(doc: Document) -> dict[str, object]:
    """What the stored report and the API listing show without opening a file."""
    return {
        "sections": {s.key: s.has_data for s in doc.sections if s.key != "overview"},
        "empty": not doc.section("overview").has_data,
    }
