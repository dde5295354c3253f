# ruff: noqa: F811  (pytest injects the imported `cli` fixture by parameter name)
"""Ordinary mistakes end as one line and a non-zero exit, in Japanese or English (issue 12)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hokan.cli import app
from tests.cli.test_cli import HOKAN, cli  # noqa: F401  (the fixture)

Cli = Callable[..., subprocess.CompletedProcess[str]]
EN = {"LANG": "en_US.UTF-8", "LC_ALL": "en_US.UTF-8"}
JA = {"LANG": "ja_JP.UTF-8", "LC_ALL": "ja_JP.UTF-8"}


def _one_line_error(r: subprocess.CompletedProcess[str], prefix: str) -> str:
    assert r.returncode != 0, r
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), r.stderr
    return lines[0]


def test_bad_paths_and_unreachable_services_are_one_line(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--demo")
    cli("cert", "ca", "init")
    some_file = tmp_path / "bundle.json"
    some_file.write_text("{}")
    cases = [
        ("audit", "verify", "--bundle", "/nonexistent"),
        ("audit", "verify", "--bundle", str(tmp_path)),
        ("audit", "verify", "--bundle", str(some_file), "--public-key", "missing.pem"),
        ("audit", "export", "--tenant", "demo", "--out", "/nonexistent/dir/x.json"),
        ("audit", "export", "--tenant", "demo", "--out", str(tmp_path)),
        ("cert", "server", "--name", "x", "--out-dir", "/proc/nope"),
        ("cert", "issue", "--tenant", "demo", "--terminal", "pc", "--out", "/nonexistent/x.p12"),
        ("cert", "ca", "show", "--out", "/proc/nope/ca.pem"),
        ("cert", "crl", "--out", "/proc/nope/crl.pem"),
        ("audit", "findings", "--date", "yesterday"),
    ]
    for args in cases:
        line = _one_line_error(cli(*args, check=False, extra_env=EN), "error: ")
        named = ("nope", "nonexist", "missing.pem", str(tmp_path), "--date")
        assert any(n in line for n in named), line
        _one_line_error(cli(*args, check=False, extra_env=JA), "エラー: ")
    redis_down = {**EN, "HOKAN_REDIS_URL": "redis://127.0.0.1:1/0"}
    line = _one_line_error(cli("ips", "bans", check=False, extra_env=redis_down), "error: ")
    assert "HOKAN_REDIS_URL" in line
    db_down = {**EN, "HOKAN_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"}
    line = _one_line_error(cli("tenant", "list", check=False, extra_env=db_down), "error: ")
    assert "HOKAN_DATABASE_URL" in line
    # Nothing was issued for the refused server certificate: it failed before the work.
    assert "server_issue" not in cli("audit", "verify").stdout


def test_a_missing_data_dir_is_refused_not_invented(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKAN_")} | EN
    r = subprocess.run(
        [*HOKAN, "tenant", "list"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    line = _one_line_error(r, "error: ")
    assert "hokan init" in line and "HOKAN_DATA_DIR" in line
    assert not (tmp_path / "var").exists()


def test_help_offers_what_the_command_accepts() -> None:
    def help_of(*args: str) -> str:
        return CliRunner().invoke(app, [*args, "--help"], env=EN).stdout

    operator = help_of("operator", "create")
    assert "general_manager" in operator and "tenant_admin" not in operator
    temporary = help_of("operator", "create-temporary")
    assert "incident_response" in temporary and "general_manager" not in temporary
    user = help_of("user", "create")
    assert "tenant_admin" in user and "general_manager" not in user
    tenant = help_of("tenant", "create")
    assert "a-z, 0-9" in tenant and "()" not in tenant
    for args in (("operator", "create"), ("cert", "issue"), ("vault", "check")):
        assert "<bool>" not in help_of(*args)


def test_bad_values_name_the_rule(cli: Cli) -> None:
    cli("init", "--demo")
    r = cli(
        "tenant", "create", "--code", "ACME", "--name", "x", "--product", "staff",
        check=False, extra_env=EN,
    )  # fmt: skip
    assert "a-z, 0-9" in _one_line_error(r, "error: invalid_tenant")
    for args in (
        ("operator", "create", "--name", "a", "--email", "notanemail", "--role", "auditor"),
        ("user", "create", "--tenant", "demo", "--name", "a", "--email", "notanemail"),
    ):
        _one_line_error(cli(*args, check=False, extra_env=EN), "error: invalid_email")
    r = cli("operator", "create", "--name", "a", "--email", "a@b.jp", "--role", "tenant_admin",
            check=False, extra_env=EN)  # fmt: skip
    assert r.returncode == 2 and "general_manager" in r.stderr


def test_cert_issue_never_writes_a_key_into_the_current_directory(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--demo")
    cli("cert", "ca", "init")
    out = cli("cert", "issue", "--tenant", "demo", "--terminal", "pc-1").stdout
    assert not list(Path.cwd().glob("*.p12"))
    [bundle] = (tmp_path / "cli-data" / "terminal-certs").glob("demo-*.p12")
    assert str(bundle) in out
    assert bundle.stat().st_mode & 0o777 == 0o600
    assert bundle.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("lang", ["ja_JP.UTF-8", "C.UTF-8"])
def test_japanese_is_the_default(cli: Cli, lang: str) -> None:
    r = cli("audit", "verify", "--bundle", "/nonexistent", check=False,
            extra_env={"LANG": lang, "LC_ALL": lang})  # fmt: skip
    assert "ファイルまたはディレクトリがありません" in _one_line_error(r, "エラー: ")
