"""The weekly operations report (REP-1): every whitepaper category, as HTML, XLSX and PDF;
the per-tenant variant holds only that tenant's figures; an empty week says so."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hokan.kit.clock import utcnow
from hokan.reports import pdf, render, weekly
from hokan.reports.period import Week
from hokan.reports.repository import Scope
from hokan.runtime import Runtime
from tests.conftest import TenantHandle
from tests.reports.conftest import fill_week

SHEETS = (
    "概要",
    "バックアップ",
    "死活監視",
    "ハードウェアの健全性",
    "ウイルス監視",
    "不正アクセス監視",
    "負荷分散の監視",
    "内部監査",
    "クロック同期",
    "メンテナンス情報",
    "障害状況",
)
ARTEFACT = Path(__file__).resolve().parents[2] / "docs" / "reports" / "weekly-report-page-1.png"


def _sheet_text(book: object, name: str) -> str:
    sheet = book[name]  # type: ignore[index]
    return " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)


def test_weekly_report_holds_every_category_in_every_format(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], tmp_path: Path
) -> None:
    filled = fill_week(runtime, make_tenant(), make_tenant())
    with runtime.db.session(system=True) as s:
        doc = weekly.build(s, runtime.settings, filled.week, Scope(), now=utcnow())
    assert [sec.title for sec in doc.sections] == list(SHEETS)
    assert all(sec.has_data for sec in doc.sections), [
        sec.key for sec in doc.sections if not sec.has_data
    ]

    book = load_workbook(io.BytesIO(render.xlsx(doc)))
    assert book.sheetnames == ["表紙", *SHEETS]
    assert "取得 1 件" not in _sheet_text(book, "バックアップ")
    assert "バックアップ取得 2 件 (失敗 1 件)" in _sheet_text(book, "バックアップ")
    assert "42.5" in _sheet_text(book, "バックアップ")  # the restore's RTO
    assert "リストア訓練 1 回" in _sheet_text(book, "バックアップ")
    assert "95.5" in _sheet_text(book, "バックアップ")  # the drill's measured RTO
    assert filled.other_tenant_code in _sheet_text(book, "バックアップ")
    intrusion = _sheet_text(book, "不正アクセス監視")
    assert "SQL インジェクション 5" in intrusion  # one entry standing for 5 blocks
    assert "国外 IP の遮断 (日本以外) 3" in intrusion
    assert "203.0.113.9" in intrusion  # the operator's variant names the banned source
    assert "アカウントロック (連続ログイン失敗) 3" in intrusion
    assert "EICAR-Test-File" in _sheet_text(book, "ウイルス監視")
    assert "ntp.nict.jp:123" in _sheet_text(book, "クロック同期")
    assert filled.incident_number in _sheet_text(book, "障害状況")
    assert "ネットワーク機器の故障" in _sheet_text(book, "障害状況")
    assert "1 / 7 日実施" in _sheet_text(book, "内部監査")
    assert "app-1" in _sheet_text(book, "ハードウェアの健全性")
    assert "週合計" in _sheet_text(book, "負荷分散の監視")
    # Excel's own charts, not pictures.
    assert book["不正アクセス監視"]._charts
    assert book["負荷分散の監視"]._charts

    page = render.html(doc).decode()
    assert "<svg" in page and "<script" not in page and "http://" not in page.split("<svg")[0]
    for title in SHEETS:
        assert title in page
    assert "ストレージ交換" in page

    data = pdf.pdf(doc)
    assert data.startswith(b"%PDF") and b"FontFile2" in data  # the font is embedded
    if shutil.which("pdftotext") and shutil.which("pdftoppm"):
        target = tmp_path / "weekly.pdf"
        target.write_bytes(data)
        text = subprocess.run(
            ["pdftotext", "-layout", str(target), "-"], capture_output=True, check=True, text=True
        ).stdout
        for title in ("運用レポート", "死活監視", "不正アクセス監視", "クロック同期"):
            assert title in text
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                str(target),
                str(tmp_path / "p"),
            ],
            check=True,
        )
        [png] = tmp_path.glob("p*.png")
        assert png.stat().st_size > 5000
        ARTEFACT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, ARTEFACT)
    elif __import__("os").environ.get("CI"):
        pytest.fail("CI must install poppler-utils (pdftotext, pdftoppm)")


def test_a_tenants_report_holds_only_its_own_figures(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    mine, other = make_tenant(), make_tenant()
    filled = fill_week(runtime, mine, other)
    scope = Scope(mine.id, mine.tenant.code, mine.tenant.name)
    with runtime.db.session(system=True) as s:
        doc = weekly.build(s, runtime.settings, filled.week, scope, now=utcnow())
    text = render.markdown(doc).decode()
    assert mine.tenant.code in text
    assert "アカウントロック (連続ログイン失敗) | 1" in text  # not the other tenant's 2
    assert filled.incident_number in text  # service-wide: it affected everyone
    assert filled.other_incident_number not in text and "他社のみの設定誤り" not in text
    assert "他社だけの作業" not in text and "EICAR" not in text
    assert str(other.id) not in text and other.tenant.code not in text
    assert "203.0.113.9" not in text  # no addresses in a tenant's copy
    assert "許可されていない時間帯" not in text  # the other tenant's audit finding


def test_a_week_without_records_is_a_report_saying_so(runtime: Runtime) -> None:
    week = Week.of(utcnow() - timedelta(days=7 * 30))
    with runtime.db.session(system=True) as s:
        doc = weekly.build(s, runtime.settings, week, Scope(), now=utcnow())
    assert weekly.summary(doc)["empty"] is True
    assert weekly.EMPTY_WEEK in render.html(doc).decode()
    book = load_workbook(io.BytesIO(render.xlsx(doc)))
    assert book.sheetnames == ["表紙", *SHEETS]
    assert "この週のデータはありません" in _sheet_text(book, "バックアップ")
    assert pdf.pdf(doc).startswith(b"%PDF")
