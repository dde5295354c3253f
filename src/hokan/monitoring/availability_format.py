"""The availability report in the whitepaper's form (§1-3-2): table, CSV, JSON and XLSX.

Japanese first (稼働率, 計画サービス時間(分), 完全停止時間(分), 部分停止時間(分),
1月..12月, 停止の詳細); English when asked. Numbers in the table carry thousands
separators; the CSV (UTF-8 with a BOM, so Excel reads it) and the XLSX carry plain
integers.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

from hokan.kit.clock import JST, iso
from hokan.monitoring.availability import Figures, MonthFigures, Report, YearFigures

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_TEXT = {
    "ja": {
        "availability": "稼働率",
        "planned": "計画サービス時間(分)",
        "full": "完全停止時間(分)",
        "partial": "部分停止時間(分)",
        "unknown": "不明時間(分)",
        "period": "期間",
        "kind": "区分",
        "source": "出典",
        "monthly": "月毎の稼働率({year}年)",
        "yearly": "年毎の稼働率",
        "average": "平均稼働率",
        "average_of": "平均稼働率 ({first}〜{last})",
        "details": "停止の詳細",
        "started": "発生日時",
        "cause": "停止理由",
        "response": "対応",
        "prevention": "予防",
        "class": "停止区分",
        "minutes": "停止時間(分)",
        "full_class": "完全停止",
        "partial_class": "部分停止",
        "open": "継続中",
        "none": "(なし)",
        "imported_mark": "※取込",
        "to_date_mark": "※途中",
        "computed": "算出",
        "imported": "取込",
        "note_full": "※完全停止時間:本サービス全体が使用できなくなっている時間です。",
        "note_partial": "※部分停止時間:本サービスの一部機能が使用できなくなっている時間です。",
        "note_sum": (
            "稼働率算出時の停止時間については、完全停止時間と部分停止時間を合算した停止時間です。"
        ),
        "note_imported": (
            "※取込: hokan availability import で取り込んだ値です (算出値に優先します)。"
        ),
        "note_to_date": "※途中: 当月は現在までの値です。",
        "note_unknown": "※監視できなかった時間 (不明) {minutes} 分: {how}",
        "unknown_exclude": "計画サービス時間から除外しています。",
        "unknown_up": "稼働として数えています。",
        "unknown_outage": "完全停止として数えています。",
        "budget": (
            "SLO {slo}%: {month} のエラーバジェット {allowed} 分のうち "
            "{used} 分を使用、残り {remaining} 分 ({percent})"
        ),
        "month_label": "{month}月",
        "year_label": "{year}年",
        "month_kind": "月",
        "year_kind": "年",
        "total_kind": "平均",
    },
    "en": {
        "availability": "Availability",
        "planned": "Planned service time (min)",
        "full": "Full outage (min)",
        "partial": "Partial outage (min)",
        "unknown": "Unknown (min)",
        "period": "Period",
        "kind": "Kind",
        "source": "Source",
        "monthly": "Availability by month ({year})",
        "yearly": "Availability by year",
        "average": "Average availability",
        "average_of": "Average availability ({first} to {last})",
        "details": "Outage details",
        "started": "Started",
        "cause": "Cause",
        "response": "Response",
        "prevention": "Prevention",
        "class": "Outage",
        "minutes": "Minutes",
        "full_class": "full outage",
        "partial_class": "partial outage",
        "open": "ongoing",
        "none": "(none)",
        "imported_mark": "*imported",
        "to_date_mark": "*to date",
        "computed": "computed",
        "imported": "imported",
        "note_full": "Full outage: time in which the whole service could not be used.",
        "note_partial": "Partial outage: time in which some functions could not be used.",
        "note_sum": "Availability counts full and partial outage together as outage time.",
        "note_imported": (
            "*imported: figures loaded with 'hokan availability import' (they replace the "
            "computation)."
        ),
        "note_to_date": "*to date: the current month so far.",
        "note_unknown": "Minutes not observed by the prober (unknown): {minutes}, {how}",
        "unknown_exclude": "left out of planned service time.",
        "unknown_up": "counted as service time.",
        "unknown_outage": "counted as full outage.",
        "budget": (
            "SLO {slo}%: error budget of {month}: {allowed} min, {used} used, "
            "{remaining} left ({percent})"
        ),
        "month_label": "{month}",
        "year_label": "{year}",
        "month_kind": "month",
        "year_kind": "year",
        "total_kind": "average",
    },
}


def _t(lang: str) -> dict[str, str]:
    return _TEXT["en" if lang == "en" else "ja"]


def availability_text(value: Decimal | None) -> str:
    return "—" if value is None else f"{value}%"


def month_label(mf: MonthFigures, lang: str) -> str:
    if lang == "en":
        return f"{MONTHS_EN[mf.month.month - 1]} {mf.month.year}"
    return f"{mf.month.month}月"


def year_label(year: int, lang: str) -> str:
    return _t(lang)["year_label"].format(year=year)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _grid(header: list[str], rows: list[list[str]], *, label: bool = True) -> list[str]:
    """Columns padded to their display width (full-width characters count two)."""
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        cells = [_pad(c, widths[i], right=i > 0 or not label) for i, c in enumerate(r)]
        out.append("  ".join(cells).rstrip())
    return out


def _figure_cells(figures: Figures) -> list[str]:
    return [
        availability_text(figures.availability),
        f"{figures.planned:,}",
        f"{figures.full:,}",
        f"{figures.partial:,}",
    ]


def _marks(t: dict[str, str], *, imported: bool, to_date: bool) -> str:
    marks = [t["imported_mark"]] if imported else []
    if to_date:
        marks.append(t["to_date_mark"])
    return (" " + " ".join(marks)) if marks else ""


def _year_row(y: YearFigures, lang: str, t: dict[str, str]) -> list[str]:
    label = year_label(y.year, lang)
    if y.months < 12:
        label += f" ({y.months}/12)"
    marks = _marks(t, imported=y.imported_months > 0, to_date=y.to_date)
    return [label + marks, *_figure_cells(y.figures)]


def render_table(report: Report, lang: str = "ja") -> str:
    """The whitepaper's tables: the last year's months, the earlier years, the average."""
    t = _t(lang)
    header = ["", t["availability"], t["planned"], t["full"], t["partial"]]
    lines: list[str] = []
    last_year = report.months[-1].month.year
    months = [mf for mf in report.months if mf.month.year == last_year]
    lines.append(t["monthly"].format(year=last_year))
    lines.append("")
    rows = [
        [
            month_label(mf, lang) + _marks(t, imported=mf.imported, to_date=mf.to_date),
            *_figure_cells(mf.figures),
        ]
        for mf in months
    ]
    lines += _grid(header, rows)
    earlier = [y for y in reversed(report.years) if y.year != last_year]
    if earlier:
        lines += ["", t["yearly"], ""]
        lines += _grid(header, [_year_row(y, lang, t) for y in earlier])
    if len(report.years) > 1 or len(report.months) > 1:
        title = t["average_of"].format(first=report.first, last=report.last)
        lines += ["", title, ""]
        lines += _grid(
            [t["availability"], t["planned"], t["full"], t["partial"]],
            [_figure_cells(report.total)],
            label=False,
        )
    lines += ["", t["note_full"], t["note_partial"], t["note_sum"]]
    if any(mf.imported for mf in report.months):
        lines.append(t["note_imported"])
    if any(mf.to_date for mf in report.months):
        lines.append(t["note_to_date"])
    if report.total.unknown:
        how = t[f"unknown_{report.unknown.value}"]
        lines.append(t["note_unknown"].format(minutes=f"{report.total.unknown:,}", how=how))
    lines += ["", _budget_line(report, t)]
    lines += ["", t["details"], ""]
    if not report.incidents:
        lines.append(t["none"])
    for d in report.incidents:
        started = d.started_at.astimezone(JST)
        when = (
            started.strftime("%Y-%m-%d %H:%M JST")
            if lang == "en"
            else f"{started.year}年{started.month}月{started.day}日 {started:%H:%M}"
        )
        klass = t[f"{d.outage}_class"] if d.outage in ("full", "partial") else d.outage
        length = f"{d.minutes:,}" + ("" if d.resolved_at is not None else f" ({t['open']})")
        for key, value in (
            ("started", f"{when}  [{d.number}]"),
            ("class", f"{klass}, {t['minutes']} {length}"),
            ("cause", d.cause or (d.title_en if lang == "en" else d.title_ja)),
            ("response", d.response),
            ("prevention", d.prevention),
        ):
            text = " ".join(value.splitlines()) if value else "—"
            lines.append(f"{_pad(t[key], 10, right=False)} {text}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _budget_line(report: Report, t: dict[str, str]) -> str:
    b = report.budget
    left = b.remaining_percent
    return t["budget"].format(
        slo=report.slo_percent,
        month=report.months[-1].month,
        allowed=f"{b.allowed.quantize(Decimal('0.1')):,}",
        used=f"{b.used:,}",
        remaining=f"{b.remaining.quantize(Decimal('0.1')):,}",
        percent="—" if left is None else f"{left}%",
    )


def rows(report: Report, lang: str = "ja") -> tuple[list[str], list[list[Any]]]:
    """Header and rows (months, years, the average) as plain values, for CSV and XLSX."""
    t = _t(lang)
    header = [
        t["period"],
        t["kind"],
        t["availability"],
        t["planned"],
        t["full"],
        t["partial"],
        t["unknown"],
        t["source"],
    ]

    def row(period: str, kind: str, f: Figures, source: str) -> list[Any]:
        return [
            period,
            kind,
            availability_text(f.availability),
            f.planned,
            f.full,
            f.partial,
            f.unknown,
            source,
        ]

    out = []
    for mf in report.months:
        source = t["imported"] if mf.imported else t["computed"]
        if mf.to_date:
            source += f" {t['to_date_mark']}"
        out.append(row(str(mf.month), t["month_kind"], mf.figures, source))
    for y in report.years:
        source = t["imported"] if y.imported_months == y.months else t["computed"]
        if 0 < y.imported_months < y.months:
            source = f"{t['computed']}+{t['imported']}"
        out.append(row(str(y.year), t["year_kind"], y.figures, source))
    out.append(row(f"{report.first}..{report.last}", t["total_kind"], report.total, ""))
    return header, out


def render_csv(report: Report, lang: str = "ja") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header, body = rows(report, lang)
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue().encode("utf-8-sig")


def _figures_json(f: Figures) -> dict[str, Any]:
    value = f.availability
    return {
        "availability_percent": None if value is None else str(value),
        "planned_minutes": f.planned,
        "full_minutes": f.full,
        "partial_minutes": f.partial,
        "unknown_minutes": f.unknown,
    }


def render_json(report: Report) -> dict[str, Any]:
    b = report.budget
    return {
        "first": str(report.first),
        "last": str(report.last),
        "generated_at": iso(report.generated_at),
        "slo_percent": str(report.slo_percent),
        "unknown_minutes_counted_as": report.unknown.value,
        "months": [
            {
                "month": str(mf.month),
                "source": "imported" if mf.imported else "computed",
                "to_date": mf.to_date,
                **_figures_json(mf.figures),
            }
            for mf in report.months
        ],
        "years": [
            {
                "year": y.year,
                "months": y.months,
                "imported_months": y.imported_months,
                "to_date": y.to_date,
                **_figures_json(y.figures),
            }
            for y in report.years
        ],
        "total": _figures_json(report.total),
        "error_budget": {
            "month": str(report.months[-1].month),
            "allowed_minutes": str(b.allowed),
            "used_minutes": b.used,
            "remaining_minutes": str(b.remaining),
            "remaining_percent": None if b.remaining_percent is None else str(b.remaining_percent),
        },
        "incidents": [
            {
                "number": d.number,
                "outage": d.outage,
                "started_at": iso(d.started_at),
                "resolved_at": None if d.resolved_at is None else iso(d.resolved_at),
                "minutes": d.minutes,
                "title_ja": d.title_ja,
                "title_en": d.title_en,
                "cause": d.cause,
                "response": d.response,
                "prevention": d.prevention,
            }
            for d in report.incidents
        ],
    }


def write_xlsx(report: Report, path: Path, lang: str = "ja") -> None:
    """Two sheets: the figures (integers formatted #,##0) and the outage details."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    t = _t(lang)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = t["availability"]
    header, body = rows(report, lang)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in body:
        sheet.append(r)
    for row in sheet.iter_rows(min_row=2, min_col=4, max_col=7):
        for cell in row:
            cell.number_format = "#,##0"
    for column, width in zip("ABCDEFGH", (18, 8, 12, 22, 18, 18, 14, 14), strict=True):
        sheet.column_dimensions[column].width = width
    details = book.create_sheet(t["details"])
    details.append(
        [t["started"], t["class"], t["minutes"], t["cause"], t["response"], t["prevention"], "ID"]
    )
    for cell in details[1]:
        cell.font = Font(bold=True)
    for d in report.incidents:
        details.append(
            [
                d.started_at.astimezone(JST).strftime("%Y-%m-%d %H:%M"),
                t[f"{d.outage}_class"] if d.outage in ("full", "partial") else d.outage,
                d.minutes,
                d.cause,
                d.response,
                d.prevention,
                d.number,
            ]
        )
    book.save(path)
