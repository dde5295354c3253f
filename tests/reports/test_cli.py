"""``hokan report weekly|availability``: files an operator can open, bad input as one line."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner, Result

from hokan.cli import app
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import MASTER_KEY, TenantHandle
from tests.reports.conftest import fill_week

Cli = Callable[..., Result]


@pytest.fixture
def cli(
    settings: Settings, runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Cli:
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {
        "HOKAN_DATA_DIR": str(settings.data_dir),
        "HOKAN_DATABASE_URL": settings.resolved_database_url,
        "HOKAN_KEYRING_DATABASE_URL": settings.resolved_keyring_url,
        "HOKAN_VAULT_STORE_URLS": settings.vault_store_urls,
        "HOKAN_MASTER_KEY": MASTER_KEY,
        "HOKAN_LOG_LEVEL": "WARNING",
        "LC_ALL": "",
        "LC_MESSAGES": "",
        "LANG": "ja_JP.UTF-8",
    }

    def run(*args: str, extra: dict[str, str] | None = None) -> Result:
        cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HOKAN_")}
        return CliRunner().invoke(app, list(args), env={**cleared, **env, **(extra or {})})

    return run


def test_weekly_report_files(
    cli: Cli, runtime: Runtime, make_tenant: Callable[..., TenantHandle], tmp_path: Path
) -> None:
    mine = make_tenant()
    filled = fill_week(runtime, mine, make_tenant())
    week = str(filled.week)
    r = cli(
        "report", "weekly", "--week", week, "--format", "xlsx", "--out", str(tmp_path / "w.xlsx")
    )
    assert r.exit_code == 0, r.output
    book = load_workbook(tmp_path / "w.xlsx")
    assert "不正アクセス監視" in book.sheetnames and "クロック同期" in book.sheetnames
    r = cli("report", "weekly", "--week", week, "--out", str(tmp_path / "w.html"))
    assert r.exit_code == 0, r.output
    page = (tmp_path / "w.html").read_text(encoding="utf-8")
    assert "運用レポート" in page and filled.incident_number in page
    r = cli(
        "report",
        "weekly",
        "--week",
        week,
        "--tenant",
        mine.tenant.code,
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "t.pdf"),
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "t.pdf").read_bytes().startswith(b"%PDF")


def test_bad_weeks_and_tenants_are_one_line(cli: Cli, tmp_path: Path) -> None:
    out = str(tmp_path / "x.html")
    r = cli("report", "weekly", "--week", "2026-49", "--out", out)
    assert r.exit_code != 0 and "invalid_week" in r.output
    r = cli("report", "weekly", "--week", "2999-W01", "--out", out)
    assert r.exit_code != 0 and "invalid_week" in r.output
    r = cli("report", "weekly", "--tenant", "nobody", "--out", out)
    assert r.exit_code != 0 and "report_unknown_tenant" in r.output
    assert "Traceback" not in r.output
    # Last week with no records at all: a report saying so.
    r = cli("report", "weekly", "--out", out)
    assert r.exit_code == 0, r.output
    assert "この週" in Path(out).read_text(encoding="utf-8")


def test_availability_report_files(cli: Cli, tmp_path: Path) -> None:
    for fmt in ("pdf", "xlsx", "html"):
        target = tmp_path / f"a.{fmt}"
        r = cli("report", "availability", "--year", "2026", "--format", fmt, "--out", str(target))
        assert r.exit_code == 0, r.output
        assert target.stat().st_size > 1000
    assert "停止の詳細" in (tmp_path / "a.html").read_text(encoding="utf-8")
    r = cli("report", "availability", "--out", str(tmp_path / "b.pdf"))
    assert r.exit_code != 0 and "--year" in r.output
