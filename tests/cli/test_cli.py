"""The ``hokan`` command line, run as a user runs it: real processes, real databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hokan.cli import app
from hokan.identity import sessions
from hokan.settings import Settings
from tests.conftest import TenantHandle, wait_ready

HOKAN = [sys.executable, "-m", "hokan"]


@pytest.fixture
def cli(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., subprocess.CompletedProcess[str]]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    hokan_env = {
        "HOKAN_DATA_DIR": str(tmp_path / "cli-data"),
        "HOKAN_DATABASE_URL": settings.resolved_database_url,
        "HOKAN_KEYRING_DATABASE_URL": settings.resolved_keyring_url,
        "HOKAN_LOG_LEVEL": "WARNING",
        "LANG": "en_US.UTF-8",  # the audit commands speak Japanese unless asked otherwise
        "LC_ALL": "",
        "LC_MESSAGES": "",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKAN_")} | hokan_env

    def run(
        *args: str, check: bool = True, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        # In-process through Click's runner (fast); the serve tests start real processes.
        cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HOKAN_")}
        result = CliRunner().invoke(
            app, list(args), env={**cleared, **hokan_env, **(extra_env or {})}
        )
        done = subprocess.CompletedProcess(
            list(args), result.exit_code, result.stdout, result.stderr
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"hokan {' '.join(args)} failed ({done.returncode}): {done.stderr}"
            )
        return done

    run.env = env  # type: ignore[attr-defined]
    return run


def test_init_demo_and_tenant_lifecycle(
    cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out = cli("init", "--demo").stdout
    key_file = tmp_path / "cli-data" / "keys" / "master.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    token = out.strip().splitlines()[-1]
    assert token.startswith("hk_") and len(token) == 55
    assert "databases ready" in out
    from hokan.principals.principal import ALL_TOKEN_SCOPES

    listing = cli("tenant", "token", "list", "demo").stdout
    assert all(scope in listing for scope in ALL_TOKEN_SCOPES)  # the demo token can do everything
    cli("init")  # idempotent
    assert "demo tenant exists" in cli("init", "--demo").stdout

    cli(
        "tenant",
        "create",
        "--code",
        "acme-keibi",
        "--name",
        "アクメ警備株式会社",
        "--product",
        "guard",
        "--contact-email",
        "soumu@acme.example.jp",
    )
    listing = cli("tenant", "list").stdout
    assert "acme-keibi" in listing and "guard" in listing and "アクメ警備株式会社" in listing
    shown = cli("tenant", "show", "acme-keibi").stdout
    assert '"lockout_threshold": 5' in shown and "soumu@acme.example.jp" in shown

    dup = cli(
        "tenant", "create", "--code", "acme-keibi", "--name", "x", "--product", "guard", check=False
    )
    assert dup.returncode == 1 and "tenant_code_taken" in dup.stderr
    bad = cli(
        "tenant", "create", "--code", "Bad Code!", "--name", "x", "--product", "staff", check=False
    )
    assert bad.returncode != 0 and "code" in bad.stderr
    missing = cli("tenant", "show", "nope", check=False)
    assert missing.returncode == 1 and "tenant_not_found" in missing.stderr

    created = cli(
        "tenant", "token", "create", "acme-keibi", "--name", "給与連携", "--scope", "records:read"
    )
    assert created.stdout.strip().startswith("hk_")
    prefix = created.stdout.strip()[:11]
    assert prefix in cli("tenant", "token", "list", "acme-keibi").stdout
    assert created.stdout.strip() not in cli("tenant", "token", "list", "acme-keibi").stdout
    assert "revoked" in cli("tenant", "token", "revoke", "acme-keibi", prefix).stdout
    bad_scope = cli(
        "tenant", "token", "create", "acme-keibi", "--scope", "vault:everything", check=False
    )
    assert "invalid_scope" in bad_scope.stderr

    assert "suspended" in cli("tenant", "suspend", "acme-keibi").stdout
    assert "active" in cli("tenant", "resume", "acme-keibi").stdout

    rotated = cli("keys", "rotate", "--tenant", "demo").stdout
    assert "now v2" in rotated
    keys = cli("keys", "list", "--tenant", "demo").stdout
    assert "v1" in keys and "retired" in keys and "v2" in keys
    refused = cli("keys", "destroy", "demo", "--confirm", "demo", check=False)
    assert refused.returncode == 1 and "terminated" in refused.stderr
    cli("tenant", "terminate", "demo")
    assert "destroyed 2" in cli("keys", "destroy", "demo", "--confirm", "demo").stdout
    assert "system:" in cli("db", "upgrade").stdout
    assert "no drift" in cli("db", "check").stdout


def test_tenant_contacts(cli: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    cli("init")
    cli(
        "tenant",
        "create",
        "--code",
        "acme",
        "--name",
        "アクメ",
        "--product",
        "staff",
        "--contact-email",
        "soumu@acme.example.jp",
    )
    # The sole contact given at creation hears security notices too.
    [line] = cli("tenant", "contacts", "list", "acme").stdout.splitlines()
    assert "soumu@acme.example.jp" in line and "notice,security" in line
    added = cli(
        "tenant",
        "contacts",
        "add",
        "acme",
        "--email",
        "it@acme.example.jp",
        "--role",
        "technical",
        "--role",
        "security",
        "--name",
        "情シス",
        "--lang",
        "en",
    ).stdout
    assert "added contact" in added and "security,technical" in added
    merged = cli(
        "tenant", "contacts", "add", "acme", "--email", "it@acme.example.jp", "--role", "billing"
    ).stdout
    assert "billing,security,technical" in merged
    listing = cli("tenant", "contacts", "list", "acme", "--json").stdout
    assert '"language": "en"' in listing and listing.count('"email"') == 2
    assert (
        "removed contact"
        in cli("tenant", "contacts", "remove", "acme", "--email", "it@acme.example.jp").stdout
    )
    assert "it@acme.example.jp" not in cli("tenant", "contacts", "list", "acme").stdout

    def refused(*args: str) -> str:
        r = cli("tenant", "contacts", *args, check=False)
        assert r.returncode != 0 and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        return r.stderr

    assert "invalid_contact" in refused("add", "acme", "--email", "notanemail", "--role", "notice")
    wrong_role = refused("add", "acme", "--email", "a@acme.example.jp", "--role", "boss")
    assert "invalid_contact" in wrong_role and "security, notice, billing, technical" in wrong_role
    assert "invalid_contact" in refused(
        "add", "acme", "--email", "a@acme.example.jp", "--role", "notice", "--lang", "fr"
    )
    assert "contact_not_found" in refused("remove", "acme", "--email", "nobody@acme.example.jp")
    assert "tenant_not_found" in refused("list", "nope")
    hint = cli("tenant", "set", "acme", "-s", "contacts=a@acme.example.jp", check=False)
    assert hint.returncode == 2 and "hokan tenant contacts" in hint.stderr
    bad = cli(
        "tenant",
        "create",
        "--code",
        "beta",
        "--name",
        "x",
        "--product",
        "staff",
        "--contact-email",
        "notanemail",
        check=False,
    )
    assert bad.returncode == 2 and "invalid_contact" in bad.stderr


def test_invalid_setting_stops_with_the_variable_named(
    cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    r = cli("tenant", "list", check=False, extra_env={"HOKAN_PORT": "eighty"})
    assert r.returncode == 2
    assert "HOKAN_PORT" in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_answers_http(
    cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    token = cli("init", "--demo").stdout.strip().splitlines()[-1]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**cli.env, "HOKAN_LOG_LEVEL": "INFO"}  # type: ignore[attr-defined]
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*HOKAN, "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        if not wait_ready(f"{url}/readyz", proc=proc):
            pytest.fail("hokan serve did not become ready: " + log_path.read_text())
        headers = {"Authorization": f"Bearer {token}"}
        r = httpx.put(
            f"{url}/api/v1/collections/guards/records/g-001",
            json={"氏名": "警備 一郎", "資格": "施設警備2級"},
            headers=headers,
        )
        assert r.status_code == 201
        assert r.headers["x-request-id"]
        assert (
            httpx.get(f"{url}/api/v1/collections/guards/records/g-001", headers=headers).json()[
                "data"
            ]["氏名"]
            == "警備 一郎"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lines = log_path.read_text().splitlines()
    access = [line for line in lines if '"hokan.access"' in line]
    assert any('"status":201' in line and '"request_id"' in line for line in access)
    text = log_path.read_text()
    assert token not in text and token[:11] not in text  # no tokens in logs
    assert "警備 一郎" not in text  # no payloads in logs


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKAN_")}
    env["HOKAN_DATA_DIR"] = str(tmp_path / "fresh")
    r = subprocess.run(
        [*HOKAN, "serve"], capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path
    )
    assert r.returncode == 1
    assert "hokan db upgrade" in r.stderr or "hokan init" in r.stderr


def test_tenant_settings_are_validated(
    cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    cli("init", "--demo")
    out = cli(
        "tenant",
        "set",
        "demo",
        "-s",
        "lockout_threshold=3",
        "-s",
        "allowed_cidrs=203.0.113.0/24,2001:db8::/32",
    ).stdout
    assert '"lockout_threshold": 3' in out
    assert "203.0.113.0/24" in out
    bad = cli("tenant", "set", "demo", "-s", "lockout_threshold=0", check=False)
    assert bad.returncode == 1
    assert "invalid_tenant_settings" in bad.stderr and "lockout_threshold" in bad.stderr
    bad = cli("tenant", "set", "demo", "-s", "allowed_cidrs=not-a-network", check=False)
    assert "allowed_cidrs" in bad.stderr
    unknown = cli("tenant", "set", "demo", "-s", "colour=blue", check=False)
    assert unknown.returncode == 2 and "unknown setting" in unknown.stderr
    assert '"lockout_threshold": 3' in cli("tenant", "show", "demo").stdout


def test_operator_actions_are_audited_and_verifiable(
    cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    cli("init", "--demo")
    cli("tenant", "suspend", "demo")
    cli("tenant", "resume", "demo")
    cli("keys", "rotate", "--tenant", "demo")
    out = cli("audit", "verify").stdout
    assert "1 chains, 5 entries" in out and "ok" in out
    assert "1 chains" in cli("audit", "verify", "--tenant", "demo").stdout


def test_audit_checkpoint_and_public_key(
    cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    cli("init", "--demo")
    assert "1 checkpoints signed" in cli("audit", "checkpoint").stdout
    assert "0 checkpoints signed" in cli("audit", "checkpoint").stdout
    assert cli("audit", "public-key").stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert "1 signed checkpoints" in cli("audit", "verify").stdout


def test_audit_archive_needs_a_retention(
    cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    cli("init", "--demo")
    refused = cli("audit", "archive", check=False)
    assert refused.returncode == 2
    assert "indefinite" in refused.stderr
    assert "0 segments written" in cli("audit", "archive", "--older-than-days", "30").stdout


def test_audit_verify_exits_non_zero_on_tampering(
    cli: Callable[..., subprocess.CompletedProcess[str]], settings: Settings, backend: str
) -> None:
    import sqlite3

    if backend != "sqlite":
        pytest.skip("tampering here edits the SQLite file directly")
    cli("init", "--demo")
    cli("tenant", "suspend", "demo")
    path = settings.resolved_database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute("UPDATE audit_events SET actor_name = 'someone else' WHERE seq = 2")
    r = cli("audit", "verify", check=False)
    assert r.returncode == 1
    assert "BROKEN chain" in r.stdout and "at entry 2" in r.stdout and "edited" in r.stdout


def test_user_bootstrap_and_lockout_handling(
    cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    cli("init", "--demo")
    out = cli(
        "user",
        "create",
        "--tenant",
        "demo",
        "--name",
        "管理 太郎",
        "--email",
        "admin@example.jp",
        "--role",
        "tenant_admin",
    ).stdout
    serial = out.split("serial: ")[1].split()[0]
    assert len(serial) == 16
    assert "initial password (shown once)" in out
    listing = cli("user", "list", "--tenant", "demo").stdout
    assert serial in listing and "tenant_admin" in listing
    assert "unlocked" in cli("user", "unlock", "demo", serial).stdout
    assert "disabled" in cli("user", "disable", "demo", serial).stdout
    assert '"status": "disabled"' in cli("user", "list", "--tenant", "demo").stdout
    bad = cli(
        "user",
        "create",
        "--tenant",
        "demo",
        "--name",
        "x",
        "--email",
        "x@example.jp",
        "--role",
        "auditor",
        check=False,
    )
    # An operator role is not a tenant role: refused at the option, which names the valid ones.
    assert bad.returncode == 2 and "tenant_admin" in bad.stderr and "Traceback" not in bad.stderr
    missing = cli("user", "unlock", "demo", "4111111111111111", check=False)
    assert "user_not_found" in missing.stderr
    forced = cli("user", "require-password-change", "demo", "4111111111111111", check=False)
    assert forced.returncode != 0 and "user_not_found" in forced.stderr


def test_a_user_created_on_the_command_line_changes_the_password_first(
    cli: Callable[..., subprocess.CompletedProcess[str]],
    settings: Settings,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
) -> None:
    """ADR 0017: the printed initial password opens a session that can only change it;
    ``user require-password-change`` makes a settled user change theirs again."""
    t = make_tenant()
    assert settings.master_key is not None
    env = {
        "HOKAN_DATA_DIR": str(settings.data_dir),
        "HOKAN_MASTER_KEY": settings.master_key.get_secret_value(),
    }
    out = cli(
        "user",
        "create",
        "--tenant",
        t.tenant.code,
        "--name",
        "新人 太郎",
        "--email",
        "shinjin@example.jp",
        "--role",
        "tenant_admin",
        extra_env=env,
    ).stdout
    serial = out.split("serial: ")[1].split()[0]
    initial = out.split("(shown once): ")[1].split()[0]
    listing = cli("user", "list", "--tenant", t.tenant.code, extra_env=env).stdout
    assert '"password_change_required": true' in listing

    def login(password: str) -> tuple[bool, dict[str, str]]:
        r = client.post("/api/v1/auth/login", json={"serial": serial, "password": password})
        assert r.status_code == 200, r.text
        client.cookies.clear()
        jar = {
            "Cookie": f"{sessions.SESSION_COOKIE}={r.cookies[sessions.SESSION_COOKIE]}",
            "X-CSRF-Token": r.json()["csrf_token"],
        }
        return r.json()["password_change_required"], jar

    required, jar = login(initial)
    assert required is True
    assert client.get("/api/v1/users", headers=jar).json()["error"] == "password_change_required"
    chosen = "夏の海はきらきらと光っているよ"
    body = {"current_password": initial, "new_password": chosen}
    assert client.post("/api/v1/auth/password", json=body, headers=jar).status_code == 204
    required, jar = login(chosen)
    assert required is False and client.get("/api/v1/users", headers=jar).status_code == 200

    said = cli("user", "require-password-change", t.tenant.code, serial, extra_env=env).stdout
    assert "password change required" in said
    # The open session is restricted at once.
    assert client.get("/api/v1/users", headers=jar).json()["error"] == "password_change_required"
    assert login(chosen)[0] is True


def test_accounts_inventory_cli(cli: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    cli("init", "--demo")
    out = cli("accounts", "inventory", "--tenant", "demo").stdout
    assert '"kind": "token"' in out and '"dormant": false' in out
    assert (
        "0 dormant accounts disabled"
        in cli("accounts", "disable-dormant", "--tenant", "demo").stdout
    )


def test_operator_commands_and_daily_audit(
    cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """OPS-2/AUD-4 from the command line: operators, a temporary account, the daily audit."""
    import json

    cli("init")
    cli("tenant", "create", "--code", "acme", "--name", "アクメ警備", "--product", "guard")
    made = cli(
        "operator",
        "create",
        "--name",
        "運用 太郎",
        "--email",
        "ops@hokan.example",
        "--role",
        "operations_manager",
    ).stdout
    assert "serial: " in made and "otpauth://totp/" in made and "shown once" in made
    too_long = cli(
        "operator",
        "create-temporary",
        "--tenant",
        "acme",
        "--request",
        "REQ-9",
        "--reason",
        "障害調査",
        "--hours",
        "24",
        "--name",
        "調査",
        "--email",
        "i@hokan.example",
        check=False,
    )
    assert too_long.returncode == 1 and "invalid_validity" in too_long.stderr
    temp = cli(
        "operator",
        "create-temporary",
        "--tenant",
        "acme",
        "--request",
        "REQ-9",
        "--reason",
        "障害調査",
        "--hours",
        "23.5",
        "--name",
        "調査",
        "--email",
        "i@hokan.example",
    ).stdout
    assert "expires: " in temp
    listing = json.loads(cli("operator", "list").stdout)
    assert {o["kind"] for o in listing} == {"regular", "temporary"}
    inventory = json.loads(cli("accounts", "inventory").stdout)
    assert any(a["privileged"] for a in inventory if a["kind"] == "operator")
    assert any(a["kind"] == "temporary_operator" for a in inventory)
    from hokan.kit.clock import to_jst, utcnow

    today = to_jst(utcnow()).date().isoformat()
    report = json.loads(cli("audit", "daily", "--date", today).stdout)
    assert report["date"] == today and report["findings"].get("privileged_action")
    open_findings = json.loads(cli("audit", "findings", "--open").stdout)
    assert open_findings and len(open_findings) == report["open_findings"]
    cli("audit", "ack", open_findings[0]["id"], "--comment", "確認済み")
    assert len(json.loads(cli("audit", "findings", "--open").stdout)) == len(open_findings) - 1


def test_audit_rules_lists_every_rule_in_japanese_and_english() -> None:
    from hokan.audit.daily_rules import RULES

    def rules(lang: str, *args: str) -> str:
        result = CliRunner().invoke(
            app, ["audit", "rules", *args], env={"LANG": lang, "LC_ALL": ""}
        )
        assert result.exit_code == 0, result.output
        return result.stdout

    ja, en = rules("ja_JP.UTF-8"), rules("en_US.UTF-8")
    for r in RULES:
        line_ja = next(line for line in ja.splitlines() if line.startswith(r.name + " "))
        line_en = next(line for line in en.splitlines() if line.startswith(r.name + " "))
        assert r.description_ja in line_ja and r.description_en in line_en
        assert (
            r.severity in line_en
            and {"high": "高", "medium": "中", "low": "低"}[r.severity] in line_ja
        )
    assert len(ja.splitlines()) == len(RULES)
    import json

    listed = json.loads(rules("en_US.UTF-8", "--json"))
    assert [(r["name"], r["severity"]) for r in listed] == [(r.name, r.severity) for r in RULES]
