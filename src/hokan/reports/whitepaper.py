"""The security whitepaper regenerated from live settings and data (REP-3): the sections
whose content is measurable or configured — §1-2-2 報告頻度, §1-3-1/§1-4-1 サービスレベル
項目, §1-3-2 稼働率 and 停止の詳細, §2 技術的対策, §3-3 バックアップ — so the document
can never promise what the service does not do. The prose chapters stay with the company.

Each generation keeps the facts it stated in ``whitepaper-facts.json`` next to the
document; the next generation compares and adds what changed to the 変更履歴 (REP-4).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hokan import __version__
from hokan.kit.clock import to_jst
from hokan.models import AvailabilityImport, MonitorSpan, Tenant
from hokan.monitoring import availability as engine
from hokan.reports import availability as availability_report
from hokan.reports import whitepaper_facts as facts
from hokan.reports.document import Cell, Document, Section, Table
from hokan.settings import Settings

FACTS_FILE = "whitepaper-facts.json"


def _first_month(session: Session, now: datetime) -> engine.Month:
    imported = session.scalar(select(func.min(AvailabilityImport.month)))
    observed = session.scalar(select(func.min(MonitorSpan.start)))
    months = [engine.Month.of(now)]
    if imported:
        year, month = imported.split("-")
        months.append(engine.Month(int(year), int(month)))
    if observed is not None:
        months.append(engine.Month.of(observed))
    return min(months, key=lambda m: (m.year, m.month))


def availability_sections(session: Session, settings: Settings, now: datetime) -> list[Section]:
    first, last = _first_month(session, now), engine.Month.of(now)
    report = engine.report(
        session,
        first,
        last,
        now=now,
        slo_percent=settings.slo_percent,
        unknown=settings.availability_unknown,
    )
    out = availability_report.sections(report)
    out[0].paragraphs.insert(
        0,
        f"稼働率の SLO(サービス目標)は {settings.slo_percent}% です。"
        "過去の稼働率は下記の通りです。",
    )
    for s in out:
        s.key, s.title = f"1-3-2-{s.key}", f"1-3-2. {s.title}"
    return out


def _history(previous: dict[str, str], current: dict[str, str], when: str) -> list[list[Cell]]:
    if not previous:
        return [[when, __version__, "・初版 (設定と運用記録から生成)"]]
    changed = [
        f"・{key}: {previous[key]} → {current[key]}"
        for key in current
        if key in previous and previous[key] != current[key]
    ]
    changed += [f"・{key} を追加" for key in current if key not in previous]
    return [[when, __version__, "\n".join(changed)]] if changed else []


def build(
    session: Session, settings: Settings, *, now: datetime, out_dir: Path | None = None
) -> tuple[Document, dict[str, Any]]:
    """The document and the facts file to keep beside it."""
    tenants = session.scalars(select(Tenant)).all()
    stated = facts.collect(session, settings, tenants, now=now)
    sections = [
        facts.reporting(settings),
        facts.service_levels(settings),
        *availability_sections(session, settings, now),
        facts.reliability(session, settings),
        facts.technical(settings, tenants),
        facts.backups(settings),
        facts.backup_spec(session, settings),
    ]
    kept: dict[str, Any] = {"history": [], "facts": {}}
    path = out_dir / FACTS_FILE if out_dir is not None else None
    if path is not None and path.is_file():
        kept = json.loads(path.read_text(encoding="utf-8"))
    history: list[list[Cell]] = list(kept.get("history", []))
    when = f"{to_jst(now):%Y/%m/%d}"
    previous = kept.get("facts", {})
    history += _history(previous if isinstance(previous, dict) else {}, stated, when)
    sections.append(
        Section(
            "history",
            "■変更履歴",
            tables=[Table(["日付", "バージョン", "前バージョンからの変更"], history)],
        )
    )
    doc = Document(
        "セキュリティホワイトペーパー",
        f"{to_jst(now):%Y年%m月%d日} 改訂 (測定可能な項目)",
        [
            ("作成日時", f"{to_jst(now):%Y-%m-%d %H:%M} (日本時間)"),
            ("作成元", f"Hokan {__version__} の設定値と運用記録"),
        ],
        sections,
        notes=["本書の数値・設定は生成時点の本サービスの設定と記録から自動的に記載しています。"],
    )
    return doc, {"history": history, "facts": stated}
