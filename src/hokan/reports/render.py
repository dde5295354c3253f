"""The writers: HTML (inline SVG charts), XLSX (a sheet per section, Excel's own charts),
PDF (ReportLab, the Japanese font embedded, PNG charts) and Markdown."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from hokan.reports import charts
from hokan.reports.document import Cell, Chart, Document, Section

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def fmt(value: Cell) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "○" if value else "×"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def html(doc: Document) -> bytes:
    """One self-contained page: no script, no external reference, charts as inline SVG."""
    drawn = {
        s.key: [Markup(charts.svg(c)) for c in s.charts if c.has_values]  # noqa: S704 (ours)
        for s in doc.sections
    }
    page = _env.get_template("report.html").render(doc=doc, charts=drawn, fmt=fmt)
    return page.encode("utf-8")


# -- XLSX ---------------------------------------------------------------------------

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(section: Section, taken: set[str]) -> str:
    name = _SHEET_BAD.sub("_", section.title)[:31] or section.key
    while name in taken:
        name = name[:28] + f"_{len(taken)}"
    taken.add(name)
    return name


def _xlsx_chart(sheet: Any, chart: Chart, first_row: int, anchor: str) -> int:
    """Write the chart's data at ``first_row`` and an Excel chart over it; the next free row."""
    from openpyxl.chart import BarChart, LineChart, Reference

    sheet.cell(first_row, 1, chart.title)
    header = [chart.unit or "", *[name for name, _ in chart.series]]
    for col, text in enumerate(header, start=1):
        sheet.cell(first_row + 1, col, text)
    for i, category in enumerate(chart.categories):
        row = first_row + 2 + i
        sheet.cell(row, 1, category)
        for col, (_, values) in enumerate(chart.series, start=2):
            sheet.cell(row, col, values[i])
    last = first_row + 1 + len(chart.categories)
    plot = LineChart() if chart.kind == "line" else BarChart()
    plot.title = chart.title
    plot.y_axis.title = chart.unit or None
    plot.height, plot.width = 7.5, 16
    data = Reference(
        sheet, min_col=2, max_col=1 + len(chart.series), min_row=first_row + 1, max_row=last
    )
    cats = Reference(sheet, min_col=1, min_row=first_row + 2, max_row=last)
    plot.add_data(data, titles_from_data=True)
    plot.set_categories(cats)
    sheet.add_chart(plot, anchor)
    return last + 2


def xlsx(doc: Document) -> bytes:
    """A summary sheet, then one sheet per section; numbers stay numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "表紙" if doc.lang == "ja" else "Cover"
    cover.append([doc.title])
    cover["A1"].font = Font(bold=True, size=14)
    cover.append([doc.subtitle])
    cover.append([])
    for label, value in doc.facts:
        cover.append([label, value])
    cover.append([])
    for s in doc.sections:
        cover.append([s.title, s.paragraphs[0] if s.paragraphs else ""])
    for note in doc.notes:
        cover.append([note])
    cover.column_dimensions["A"].width = 24
    cover.column_dimensions["B"].width = 90
    taken = {cover.title}
    for s in doc.sections:
        sheet = book.create_sheet(_sheet_name(s, taken))
        sheet.append([s.title])
        sheet["A1"].font = Font(bold=True, size=12)
        for p in s.paragraphs:
            sheet.append([p])
        widths: dict[int, int] = {}
        for t in s.tables:
            sheet.append([])
            if t.title:
                sheet.append([t.title])
                sheet.cell(sheet.max_row, 1).font = Font(bold=True)
            sheet.append(t.header)
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
            for row in t.rows:
                sheet.append(list(row))
            for i, h in enumerate(t.header, start=1):
                longest = max([len(str(h)), *(len(fmt(r[i - 1])) for r in t.rows)])
                widths[i] = max(widths.get(i, 0), min(60, longest * 2 + 2))
        for i, w in widths.items():
            sheet.column_dimensions[get_column_letter(i)].width = w
        at = sheet.max_row + 2
        for chart in s.charts:
            if chart.has_values:
                anchor = f"{get_column_letter(len(chart.series) + 3)}{at}"
                at = _xlsx_chart(sheet, chart, at, anchor) + 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- Markdown -------------------------------------------------------------------------


def _md_cell(value: Cell) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", "<br>")


def markdown(doc: Document) -> bytes:
    lines = [f"# {doc.title}", "", doc.subtitle, ""]
    lines += [f"- **{label}**: {value}" for label, value in doc.facts]
    for s in doc.sections:
        lines += ["", f"## {s.title}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        for t in s.tables:
            if t.title:
                lines += [f"### {t.title}", ""]
            lines.append("| " + " | ".join(_md_cell(h) for h in t.header) + " |")
            lines.append("|" + "|".join("---" for _ in t.header) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in t.rows]
            lines.append("")
    if doc.notes:
        lines += ["", *doc.notes]
    return ("\n".join(lines).rstrip() + "\n").encode("utf-8")
