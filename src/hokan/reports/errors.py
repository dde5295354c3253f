"""Stable error codes of the reports domain."""

from __future__ import annotations

from hokan.kit.errors import InvalidParameter, NotFound, because


class InvalidWeek(InvalidParameter):
    code = "invalid_week"
    message_ja = "週の指定が正しくありません。"
    message_en = "The week is not valid."
    reasons = because(
        format=(
            "週は YYYY-Www (ISO 週、例 2026-W49) で指定してください ({value})。",
            "Give the week as YYYY-Www (ISO week, e.g. 2026-W49) ({value}).",
        ),
        future=("{value} はまだ始まっていません。", "{value} has not started yet."),
    )


class ReportNotFound(NotFound):
    code = "report_not_found"
    message_ja = "そのレポートはありません。"
    message_en = "No such report."


class UnknownReportFormat(InvalidParameter):
    code = "unknown_report_format"
    message_ja = "レポートの形式は html、xlsx、pdf のいずれかです。"
    message_en = "The report format is html, xlsx or pdf."


class UnknownTenant(InvalidParameter):
    code = "report_unknown_tenant"
    message_ja = "そのテナントはありません。"
    message_en = "No such tenant."
