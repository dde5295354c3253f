"""``hokan availability``: the whitepaper's table form, CSV for Excel, JSON, XLSX, units
and imports, and bad input as one line with a stable code."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hokan.cli import app
from hokan.models.monitoring import AvailabilityImport
from hokan.monitoring import availability as av
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import MASTER_KEY
from tests.monitoring.test_availability import incident, jst, window

Cli = Callable[..., Result]
HEADER = "month,planned_minutes,full_minutes,partial_minutes\n"


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

    def run(*args: str, lang: str = "ja_JP.UTF-8", extra: dict[str, str] | None = None) -> Result:
        cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HOKAN_")}
        return CliRunner().invoke(
            app, list(args), env={**cleared, **env, "LANG": lang, **(extra or {})}
        )

    return run


@pytest.fixture
def year_2024(runtime: Runtime) -> None:
    with runtime.db.session(write=True, system=True) as s:
        av.set_units(s, effective_from=date(2022, 7, 7), units=18)
        for month in range(1, 13):
            window(s, jst(2024, month, 15, 2, 0), 120)
        incident(
            s,
            jst(2024, 3, 3, 23, 10),
            90,
            cause="サーバ設定ミスにより、一部機能が使用できなかった。",
        )


def test_report_year_in_the_whitepapers_table_form(cli: Cli, year_2024: None) -> None:
    result = cli("availability", "report", "--year", "2024")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "月毎の稼働率(2024年)" in out
    assert "稼働率" in out and "計画サービス時間(分)" in out and "完全停止時間(分)" in out
    lines = out.splitlines()
    january = next(line for line in lines if line.startswith("1月"))
    assert january.split() == ["1月", "100.0000%", "801,360", "0", "0"]
    march = next(line for line in lines if line.startswith("3月"))
    assert march.split() == ["3月", "99.7978%", "801,360", "0", "1,620"]
    assert "停止の詳細" in out
    assert "発生日時" in out and "2024年3月3日 23:10" in out
    assert "停止理由" in out and "サーバ設定ミスにより" in out
    assert "対応" in out and "設定修正" in out and "予防" in out
    assert "SLO 99.9%" in out


def test_report_in_english_when_the_locale_is_english(cli: Cli, year_2024: None) -> None:
    out = cli("availability", "report", "--month", "2024-02", lang="en_US.UTF-8").stdout
    assert "Availability by month (2024)" in out
    assert "Planned service time (min)" in out
    assert next(line for line in out.splitlines() if line.startswith("Feb 2024")).split()[2:] == [
        "100.0000%",
        "749,520",
        "0",
        "0",
    ]
    assert "Outage details" in out and "(none)" in out


def test_report_csv_json_and_xlsx(cli: Cli, year_2024: None, tmp_path: Path) -> None:
    csv_file = tmp_path / "a.csv"
    done = cli(
        "availability", "report", "--since", "2024-01", "--format", "csv", "--out", str(csv_file)
    )
    assert done.exit_code == 0, done.stderr
    data = csv_file.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM: Excel opens UTF-8 correctly
    text = data.decode("utf-8-sig").splitlines()
    assert text[0].split(",")[:3] == ["期間", "区分", "稼働率"]
    assert text[1].split(",")[:7] == ["2024-01", "月", "100.0000%", "801360", "0", "0", "0"]

    payload = json.loads(
        cli("availability", "report", "--month", "2024-03", "--format", "json").stdout
    )
    assert payload["months"][0] == {
        "month": "2024-03",
        "source": "computed",
        "to_date": False,
        "availability_percent": "99.7978",
        "planned_minutes": 801_360,
        "full_minutes": 0,
        "partial_minutes": 1_620,
        "unknown_minutes": 0,
    }
    assert payload["incidents"][0]["minutes"] == 90
    assert payload["error_budget"]["used_minutes"] == 1_620

    from openpyxl import load_workbook

    xlsx = tmp_path / "a.xlsx"
    done = cli("availability", "report", "--year", "2024", "--format", "xlsx", "--out", str(xlsx))
    assert done.exit_code == 0, done.stderr
    book = load_workbook(xlsx)
    assert book.sheetnames == ["稼働率", "停止の詳細"]
    sheet = book["稼働率"]
    assert [c.value for c in sheet[2]][:6] == ["2024-01", "月", "100.0000%", 801_360, 0, 0]
    assert sheet["D2"].number_format == "#,##0"
    assert book["停止の詳細"]["D2"].value.startswith("サーバ設定ミス")
    needs_out = cli("availability", "report", "--year", "2024", "--format", "xlsx")
    assert needs_out.exit_code != 0 and "--out" in needs_out.stderr


def test_units_and_import_then_the_report_says_which_months_are_imported(
    cli: Cli, runtime: Runtime, tmp_path: Path
) -> None:
    assert (
        cli("availability", "units", "set", "--from", "2022-07-07", "--units", "18").exit_code == 0
    )
    assert cli("availability", "units", "list").stdout.split() == ["2022-07-07", "18"]
    source = tmp_path / "before.csv"
    source.write_text(HEADER + "2023-10,780000,0,240\n2023-11,754560,0,0\n", encoding="utf-8")
    first = cli("availability", "import", str(source), lang="en_US.UTF-8")
    assert first.exit_code == 0, first.stderr
    assert "2 months imported (2 added, 0 replaced, 0 unchanged)" in first.stdout
    again = cli("availability", "import", str(source), lang="en_US.UTF-8")
    assert "(0 added, 0 replaced, 2 unchanged)" in again.stdout
    out = cli("availability", "report", "--since", "2023-10").stdout
    october = next(line for line in out.splitlines() if line.startswith("2023年"))
    assert "※取込" in october
    assert "hokan availability import で取り込んだ値" in out
    with runtime.db.session(system=True) as s:
        assert s.query(AvailabilityImport).count() == 2


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("report", "--month", "2024-13"), "month_out_of_range"),
        (("report", "--month", "2999-01"), "month_out_of_range"),
        (("report", "--since", "2999-01"), "since_in_future"),
        (("report", "--year", "1999"), "year_out_of_range"),
        (("units", "set", "--from", "2024-01-01", "--units", "0"), "service_units_invalid"),
    ],
)
def test_bad_input_is_one_line_with_a_stable_code(
    cli: Cli, args: tuple[str, ...], code: str
) -> None:
    result = cli("availability", *args, lang="en_US.UTF-8")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {code}: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_malformed_import_names_its_line_and_imports_nothing(
    cli: Cli, runtime: Runtime, tmp_path: Path
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(HEADER + "2023-10,780000,0,240\n2023-11,754560,x,0\n", encoding="utf-8")
    result = cli("availability", "import", str(source))
    assert result.exit_code == 1
    assert "availability_import_invalid" in result.stderr and "3行目" in result.stderr
    with runtime.db.session(system=True) as s:
        assert s.query(AvailabilityImport).count() == 0
