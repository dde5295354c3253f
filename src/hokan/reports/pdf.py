"""The PDF writer: ReportLab's platypus with the Japanese font of :mod:`hokan.kit.pdf`
embedded (so the text is extractable), tables that wrap Japanese text, PNG charts."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from hokan import __version__
from hokan.kit.pdf import japanese_font
from hokan.reports import charts
from hokan.reports.document import Document
from hokan.reports.render import fmt


def _styles() -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle

    font = japanese_font()
    base = ParagraphStyle("body", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=11, leading=16),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4
        ),
        "h3": ParagraphStyle("h3", parent=base, fontSize=10, leading=14, spaceBefore=4),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=10),
        "note": ParagraphStyle("note", parent=base, fontSize=7.5, leading=10),
    }


def pdf(doc: Document) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    st = _styles()
    font = japanese_font()

    def para(text: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), st[style])

    story: list[Any] = [para(doc.title, "title"), para(doc.subtitle, "subtitle"), Spacer(1, 4)]
    facts = [[para(label, "cell"), para(value, "cell")] for label, value in doc.facts]
    if facts:
        grid = Table(facts, colWidths=[35 * mm, 135 * mm], hAlign="LEFT")
        grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(grid)
    width = A4[0] - 36 * mm
    for s in doc.sections:
        story.append(para(s.title, "h2"))
        story += [para(p) for p in s.paragraphs]
        for t in s.tables:
            if t.title:
                story.append(para(t.title, "h3"))
            cells = [[para(str(h), "cell") for h in t.header]]
            cells += [[para(fmt(c), "cell") for c in row] for row in t.rows]
            table = Table(cells, repeatRows=1, hAlign="LEFT", colWidths=None)
            table.setStyle(
                TableStyle(
                    [
                        ("FONTNAME", (0, 0), (-1, -1), font),
                        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            table._argW = [width / max(1, len(t.header))] * len(t.header)
            story += [Spacer(1, 3), table, Spacer(1, 4)]
        for chart in s.charts:
            if chart.has_values:
                image = Image(io.BytesIO(charts.png(chart)), width=width, height=width * 0.4)
                story.append(KeepTogether([image, Spacer(1, 4)]))
    story += [Spacer(1, 6), *[para(n, "note") for n in doc.notes]]

    def footer(canvas: Any, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.drawString(18 * mm, 10 * mm, f"{doc.title} {doc.subtitle} — Hokan {__version__}")
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"{canvas.getPageNumber()}")
        canvas.restoreState()

    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{doc.title} {doc.subtitle}",
        author="Hokan",
        invariant=1,
    )
    template.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
