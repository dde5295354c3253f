"""``hokan clock check`` and ``hokan clock history`` as an operator runs them."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from hokan.cli import app
from hokan.settings import Settings
from tests.clock.conftest import Responder

Cli = Callable[..., Result]


@pytest.fixture
def cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)  # no stray .env
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HOKAN_")}
    env |= {
        "HOKAN_DATA_DIR": str(settings.data_dir),
        "HOKAN_DATABASE_URL": settings.resolved_database_url,
        "HOKAN_KEYRING_DATABASE_URL": settings.resolved_keyring_url,
        "HOKAN_VAULT_STORE_URLS": settings.vault_store_urls,
        "HOKAN_MASTER_KEY": settings.master_key.get_secret_value() if settings.master_key else "",
        "HOKAN_NTP_TIMEOUT_SECONDS": "0.5",
        "HOKAN_LOG_LEVEL": "WARNING",
        "LANG": "en_US.UTF-8",
        "LC_ALL": "",
        "LC_MESSAGES": "",
    }

    def run(*args: str, **extra: str) -> Result:
        return CliRunner().invoke(app, list(args), env={**env, **extra})

    return run


def test_check_prints_each_server_and_history_keeps_it(
    cli: Cli, ntp_server: Callable[..., Responder], closed_port: str
) -> None:
    server = ntp_server(0.1)
    r = cli("clock", "check", HOKAN_NTP_SERVERS=f"{server.address},{closed_port}")
    assert r.exit_code == 0, r.stderr
    shown = json.loads(r.stdout)
    assert (shown["result"], shown["server"], shown["max_offset_ms"]) == (
        "ok",
        server.address,
        1000,
    )
    assert abs(shown["offset_ms"] - 100) < 50
    by_server = {s["server"]: s for s in shown["servers"]}
    assert by_server[server.address]["answered"] is True
    assert by_server[server.address]["stratum"] == 2
    assert (by_server[closed_port]["answered"], by_server[closed_port]["error"]) == (
        False,
        "timeout",
    )
    assert shown["checked_at"].endswith("+09:00")  # shown in JST

    # The same run is in the job history, recorded as a manual run.
    jobs = json.loads(cli("jobs", "history", "--job", "clock.check").stdout)
    assert [(j["trigger"], j["status"]) for j in jobs] == [("manual", "ok")]

    far = ntp_server(5.0)
    r = cli("clock", "check", HOKAN_NTP_SERVERS=far.address)
    assert r.exit_code == 1
    assert json.loads(r.stdout)["error"] == "clock_offset_exceeded"
    assert "alert: clock_offset_exceeded" in r.stderr and "Traceback" not in r.stderr

    history = json.loads(cli("clock", "history").stdout)
    assert [c["result"] for c in history] == ["offset_exceeded", "ok"]
    alerts = json.loads(cli("clock", "history", "--alerts").stdout)
    assert [(c["result"], c["server"]) for c in alerts] == [("offset_exceeded", far.address)]
    failed = json.loads(cli("jobs", "history", "--failed").stdout)
    assert [j["error_code"] for j in failed] == ["clock_offset_exceeded"]


def test_check_exits_non_zero_when_no_server_answers(cli: Cli, closed_port: str) -> None:
    r = cli("clock", "check", HOKAN_NTP_SERVERS=closed_port)
    assert r.exit_code == 1
    assert json.loads(r.stdout)["result"] == "unreachable"
    assert "clock_unreachable" in r.stderr


def test_a_bad_ntp_server_setting_stops_the_command(cli: Cli) -> None:
    r = cli("clock", "check", HOKAN_NTP_SERVERS="ntp.nict.jp:99999")
    assert r.exit_code == 2
    assert "HOKAN_NTP_SERVERS" in r.stderr and "Traceback" not in r.stderr


def test_clock_check_is_a_scheduled_job(cli: Cli) -> None:
    jobs = {j["job"]: j for j in json.loads(cli("jobs", "list").stdout)}
    assert jobs["clock.check"]["schedule"] == "0 3 * * 1"  # Mondays 03:00 JST
    assert jobs["clock.check"]["next_run"].endswith("T03:00:00+09:00")
