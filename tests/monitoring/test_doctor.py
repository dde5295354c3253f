"""``hokan doctor`` (issue 19): the production checklist against a running installation."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hokan.cli import app
from hokan.monitoring import doctor
from hokan.settings import Settings


def _by_check(settings: Settings) -> dict[str, str]:
    return {f.check: f.status for f in doctor.run(settings)}


def test_checks_on_this_backend(settings: Settings, backend: str) -> None:
    found = _by_check(settings)
    assert found["database.reachable"] == "ok"
    assert found["keyring.separate"] == "ok"
    assert found["env"] == "warn"  # the tests run as 'test'
    assert found["master_key.source"] == "warn"  # an inline key, not a file
    if backend == "sqlite":
        assert found["database.tls"] == "skip"
        assert "database.role" not in found
    else:
        # The tests' service role: not superuser, not BYPASSRLS, not the owner.
        assert found["database.role"] == "ok"
        assert found["database.tls"] == "warn"  # loopback without TLS
        # The test stores share the owner's user with each other: one leak reads them all.
        assert found["vault.store_users"] == "fail"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_superuser_service_role_fails(
    settings_factory: Callable[..., Settings], request: pytest.FixtureRequest
) -> None:
    admin = request.getfixturevalue("pg_databases").admin_system_url
    found = _by_check(settings_factory(database_url=admin))
    assert found["database.role"] == "fail"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_cli_exit_status_follows_the_worst_finding(settings: Settings, tmp_path: Path) -> None:
    key = tmp_path / "secrets" / "master.key"
    key.parent.mkdir()
    key.write_text(settings.master_key.get_secret_value() if settings.master_key else "")
    key.chmod(0o400)
    backups = tmp_path / "backups"
    backups.mkdir()
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HOKAN_")}
    env |= {
        "HOKAN_DATA_DIR": str(settings.data_dir),
        "HOKAN_MASTER_KEY_FILE": str(key),
        "HOKAN_BACKUP_LOCAL_DIR": str(backups),
        "HOKAN_ENV_FILE": str(tmp_path / "none.env"),
        "LANG": "en_US.UTF-8",
    }
    result = CliRunner().invoke(app, ["doctor", "--json"], env=env)
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    statuses = {c["check"]: c["status"] for c in report["checks"]}
    assert report["result"] == "warn"
    assert statuses["master_key.source"] == "ok"
    assert statuses["backup.local"] == "ok"
    assert settings.master_key is None or settings.master_key.get_secret_value() not in (
        result.stdout
    )

    key.chmod(0o644)  # readable by others: a FAIL, and exit 1
    result = CliRunner().invoke(app, ["doctor"], env=env)
    assert result.exit_code == 1
    assert "FAIL  master_key.source" in result.stdout


def test_the_checklist_documents_every_check(settings: Settings) -> None:
    root = Path(__file__).resolve().parents[2]
    guide = (root / "docs" / "operations" / "production.md").read_text(encoding="utf-8")
    for finding in doctor.run(settings):
        name = finding.check
        if name.startswith("vault.store") and name != "vault.store_users":
            name = "vault.storeN." + name.rsplit(".", 1)[1]
        assert f"`{name}`" in guide, name
    compose = (root / "deploy" / "compose.yaml").read_text(encoding="utf-8")
    for service in ("nginx:", "hokan:", "worker:", "postgres:", "redis:", "s3:", "smtp:"):
        assert f"\n  {service}" in compose, service
