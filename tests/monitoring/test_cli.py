"""``hokan maintenance``: schedule, list and cancel from the command line — the same
rules and codes as the API, ordinary mistakes as one line and a non-zero exit."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from hokan.cli import app
from hokan.settings import Settings
from tests.monitoring.conftest import minute


@pytest.fixture
def hokan(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HOKAN_")}
    env |= {
        "HOKAN_DATA_DIR": str(tmp_path / "cli-data"),
        "HOKAN_DATABASE_URL": settings.resolved_database_url,
        "HOKAN_KEYRING_DATABASE_URL": settings.resolved_keyring_url,
        "HOKAN_LOG_LEVEL": "WARNING",
        "LANG": "en_US.UTF-8",
        "LC_ALL": "",
        "LC_MESSAGES": "",
    }

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=env)

    assert run("init").exit_code == 0
    return run


def test_schedule_list_and_cancel(hokan: Callable[..., Result]) -> None:
    assert (
        hokan(
            "tenant", "create", "--code", "acme", "--name", "ACME", "--product", "staff"
        ).exit_code
        == 0
    )
    start = minute(timedelta(days=15)).astimezone()
    end = start + timedelta(hours=2)
    done = hokan(
        "maintenance", "schedule",
        "--start", start.isoformat(), "--end", end.isoformat(),
        "--tenant", "acme", "--reason", "ストレージ交換", "--reason-en", "storage swap",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "maintenance scheduled" in done.output and "JST" in done.output
    (row,) = json.loads(hokan("maintenance", "list").stdout)
    assert row["tenant"] == "acme" and row["reason"] == {
        "ja": "ストレージ交換",
        "en": "storage swap",
    }
    assert row["reads_allowed"] is True and row["emergency"] is False

    cancelled = hokan("maintenance", "cancel", row["id"])
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    assert json.loads(hokan("maintenance", "list").stdout) == []
    (past,) = json.loads(hokan("maintenance", "list", "--all").stdout)
    assert past["status"] == "cancelled"
    again = hokan("maintenance", "cancel", row["id"])
    assert again.exit_code == 1 and "maintenance_not_cancellable" in again.stderr


def test_the_rules_hold_on_the_command_line(hokan: Callable[..., Result]) -> None:
    soon = minute(timedelta(days=3)).astimezone()
    later = (soon + timedelta(hours=1)).isoformat()
    short = hokan(
        "maintenance", "schedule", "--start", soon.isoformat(), "--end", later, "--reason", "交換"
    )
    assert short.exit_code == 1 and "maintenance_notice_too_short" in short.stderr
    assert "Traceback" not in short.output
    urgent = hokan(
        "maintenance", "schedule", "--start", soon.isoformat(), "--end", later,
        "--reason", "緊急のセキュリティ更新", "--emergency", "--all-requests",
    )  # fmt: skip
    assert urgent.exit_code == 0, urgent.output
    (row,) = json.loads(hokan("maintenance", "list").stdout)
    assert row["emergency"] is True and row["reads_allowed"] is False
    unknown = hokan(
        "maintenance", "schedule", "--start", soon.isoformat(), "--end", later,
        "--reason", "x", "--tenant", "nobody", "--emergency",
    )  # fmt: skip
    assert unknown.exit_code == 1 and "unknown_tenant" in unknown.stderr
    naive = hokan(
        "maintenance", "schedule", "--start", "2030-01-01T01:00", "--end", later, "--reason", "x"
    )
    assert naive.exit_code == 2 and "offset" in naive.stderr
    garbage = hokan(
        "maintenance", "schedule", "--start", "tomorrow", "--end", later, "--reason", "x"
    )
    assert garbage.exit_code == 2 and "ISO 8601" in garbage.stderr
