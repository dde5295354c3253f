"""The availability report (REP-2) in the whitepaper's table form (§1-3-2): 月毎の稼働率,
年毎の稼働率, 平均稼働率 and 停止の詳細 — from the monitoring availability engine, so
the figures are the ones ``hokan availability report`` prints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hokan import __version__
from hokan.kit.clock import JST
from hokan.monitoring import availability as engine
from hokan.monitoring import availability_format as form
from hokan.monitoring.availability import Figures, IncidentDetail, Month
from hokan.reports.context import jst
from hokan.reports.document import Cell, Chart, Document, Section, Table
from hokan.settings import Settings

HEADER = ["", "稼働率", "計画サービス時間(分)", "完全停止時間(分)", "部分停止時間(分)"]
NOTES = [
    "※完全停止時間:本サービス全体が使用できなくなっている時間です。",
    "※部分停止時間:本サービスの一部機能が使用できなくなっている時間です。",
    "稼働率算出時の停止時間については、完全停止時間と部分停止時間を合算した停止時間です。",
]


def _cells(f: Figures) -> list[Cell]:
    return [form.availability_text(f.availability), f.planned, f.full, f.partial]


def when_ja(d: IncidentDetail) -> str:
    t = d.started_at.astimezone(JST)
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def incident_tables(report: engine.Report) -> list[Table]:
    """停止の詳細 as the whitepaper shows it: one small table per outage."""
    out = []
    for d in report.incidents:
        klass = {"full": "完全停止", "partial": "部分停止"}.get(d.outage, d.outage)
        length = f"{d.minutes:,} 分" + ("" if d.resolved_at else " (継続中)")
        out.append(
            Table(
                ["項目", "内容"],
                [
                    ["発生日時", when_ja(d)],
                    ["停止区分", f"{klass}、{length}"],
                    ["停止理由", d.cause or d.title_ja],
                    ["対応", d.response or "—"],
                    ["予防", d.prevention or "—"],
                ],
                d.number,
            )
        )
    return out


def sections(report: engine.Report) -> list[Section]:
    out: list[Section] = []
    for year in sorted({mf.month.year for mf in report.months}, reverse=True):
        months = [mf for mf in report.months if mf.month.year == year]
        rows: list[list[Cell]] = []
        for mf in months:
            mark = " ※取込" if mf.imported else (" ※途中" if mf.to_date else "")
            rows.append([form.month_label(mf, "ja") + mark, *_cells(mf.figures)])
        chart = Chart(
            f"月毎の稼働率({year}年)",
            [form.month_label(mf, "ja") for mf in months],
            [
                (
                    "稼働率",
                    [
                        None if mf.figures.availability is None else float(mf.figures.availability)
                        for mf in months
                    ],
                )
            ],
            "%",
            "line",
        )
        out.append(
            Section(
                f"months-{year}",
                f"月毎の稼働率({year}年)",
                tables=[Table(HEADER, rows)],
                charts=[chart] if len(months) > 1 else [],
            )
        )
    years: list[list[Cell]] = [
        [
            form.year_label(y.year, "ja") + ("" if y.months == 12 else f" ({y.months}/12)"),
            *_cells(y.figures),
        ]
        for y in reversed(report.years)
    ]
    out.append(Section("years", "年毎の稼働率", tables=[Table(HEADER, years)]))
    average = Table(HEADER[1:], [_cells(report.total)], f"{report.first}〜{report.last}")
    budget = report.budget
    out.append(
        Section(
            "average",
            "平均稼働率",
            [
                f"稼働率の SLO (サービス目標) は {report.slo_percent}% です。"
                f"{report.months[-1].month} のエラーバジェット "
                f"{budget.allowed.quantize(1):,} 分のうち {budget.used:,} 分を使用しました。",
                *NOTES,
            ],
            [average],
        )
    )
    details = Section("details", "停止の詳細", tables=incident_tables(report))
    if not report.incidents:
        details.paragraphs.append("この期間の停止はありません。")
        details.has_data = False
    out.append(details)
    return out


def build(
    session: Session, settings: Settings, first: Month, last: Month, *, now: datetime
) -> Document:
    report = engine.report(
        session,
        first,
        last,
        now=now,
        slo_percent=settings.slo_percent,
        unknown=settings.availability_unknown,
    )
    period = str(first) if first == last else f"{first}〜{last}"
    return Document(
        "サービスの稼働率",
        period,
        [
            ("対象期間", period + " (日本時間)"),
            ("作成日時", jst(now) + " (日本時間)"),
            ("算出方法", "(計画サービス時間 − 停止時間) ÷ 計画サービス時間"),
        ],
        sections(report),
        notes=[f"Hokan {__version__} が監視台帳・障害記録から算出しました。"],
    )
