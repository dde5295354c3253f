"""Disaster recovery exactly as docs/operations/disaster-recovery.md tells it (BAK-5):
a fresh machine with only the settings, the master key and the remote target runs
``hokan dr restore --from remote`` into a new data directory, and the rebuilt service answers
with the same records (byte-identical), attachments, terminal CA and server certificate.
Also ``hokan restore --in-place`` and ``--tenant`` as an operator runs them."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from hokan.app import create_app
from hokan.cli import app
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.backup.conftest import s3_settings
from tests.conftest import TenantHandle

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
Cli = Callable[..., Result]
BASE = "/api/v1/collections/staff/records"
PDF = b"%PDF-1.7\n" + "給与明細 山田太郎\n".encode() * 300 + b"%%EOF\n"
PUBLIC_URL = "https://hokan.example.jp"


def _cli(tmp_path: Path, base: dict[str, str]) -> Cli:
    def run(*args: str, **extra: str) -> Result:
        from typer.testing import CliRunner

        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HOKAN_")}
        env |= {"HOKAN_LOG_LEVEL": "WARNING", "LANG": "en_US.UTF-8", "LC_ALL": "", **base}
        env |= extra
        return CliRunner().invoke(app, list(args), env=env)

    return run


def _env(settings: Settings, data_dir: Path, remote: dict[str, str]) -> dict[str, str]:
    key = settings.master_key.get_secret_value() if settings.master_key else ""
    return {
        "HOKAN_DATA_DIR": str(data_dir),
        "HOKAN_MASTER_KEY": key,
        "HOKAN_PUBLIC_URL": PUBLIC_URL,
        "HOKAN_TLS_CERT_FILE": str(data_dir / "tls" / "server-cert.pem"),
        "HOKAN_TLS_KEY_FILE": str(data_dir / "tls" / "server-key.pem"),
        **remote,
    }


def _reads(client: TestClient, t: TenantHandle) -> dict[str, bytes]:
    listed = client.get(BASE, headers=t.headers)
    out = {"/": listed.content}
    for item in listed.json()["items"]:
        key = item["id"]
        out[key] = client.get(f"{BASE}/{key}", headers=t.headers).content
        out[f"{key}/revisions"] = client.get(f"{BASE}/{key}/revisions", headers=t.headers).content
        attachments = client.get(f"{BASE}/{key}/attachments", headers=t.headers)
        out[f"{key}/attachments"] = attachments.content
        for a in attachments.json():
            got = client.get(f"{BASE}/{key}/attachments/{a['id']}", headers=t.headers)
            out[f"{key}/attachments/{a['id']}"] = got.content
    return out


@pytest.mark.parametrize("remote_kind", ["folder", "s3"])
def test_a_fresh_machine_is_rebuilt_from_the_remote_target(
    remote_kind: str,
    settings: Settings,
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if remote_kind == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        buckets = request.getfixturevalue("s3_buckets")
        s3 = s3_settings(endpoint, buckets)
        remote = {f"HOKAN_{k.upper()}": str(v) for k, v in s3.items() if k.startswith("backup_")}
    else:
        remote = {"HOKAN_BACKUP_REMOTE_DIR": str(tmp_path / "offsite")}
    # The old machine: records, an attachment, its server certificate.
    tls = settings.data_dir / "tls"
    tls.mkdir()
    runtime.ca.init()
    cert, key = runtime.ca.issue_server(["hokan.example.jp"], 30)
    (tls / "server-cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tls / "server-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    t = make_tenant()
    for i in range(3):
        assert client.put(f"{BASE}/k{i}", json={"i": i, "名": "山田"}, headers=t.headers).is_success
    client.put(f"{BASE}/k0", json={"i": 10}, headers=t.headers)
    r = client.post(
        f"{BASE}/k1/attachments",
        files={"file": ("p.pdf", PDF, "application/pdf")},
        headers=t.headers,
    )
    assert r.status_code == 201, r.text
    before = _reads(client, t)
    ca_before = runtime.ca.certificate_pem()
    old = _cli(tmp_path, _env(settings, settings.data_dir, remote))
    for klass in ("monthly", "vault"):
        r = old("backup", "run", "--class", klass, "--target", "remote")
        assert r.exit_code == 0, r.output

    # The new machine: nothing but the settings, the master key and the remote target.
    fresh = tmp_path / "new-machine" / "data"
    new = _cli(tmp_path, _env(settings, fresh, remote))
    r = new("dr", "restore", "--from", "remote")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert "rebuilt from" in r.stderr
    assert report["row_counts"]["differ"] == {}
    assert report["audit"]["ok"] is True
    assert report["public_url"]["same"] is True
    assert report["vault_generation"] and isinstance(report["duration_ms"], int)
    assert (fresh / "tls" / "server-cert.pem").read_bytes() == (
        tls / "server-cert.pem"
    ).read_bytes()
    assert (fresh / "tls" / "server-key.pem").read_bytes() == (tls / "server-key.pem").read_bytes()
    assert oct((fresh / "tls" / "server-key.pem").stat().st_mode & 0o777) == "0o600"

    rebuilt = Runtime(
        Settings(  # type: ignore[call-arg]
            **settings.model_dump(
                include={"env", "master_key", "argon2_time_cost", "argon2_memory_kib"}
            ),
            data_dir=fresh,
            public_url=PUBLIC_URL,
        )
    )
    try:
        assert rebuilt.ca.certificate_pem() == ca_before  # terminal certificates stay valid
        with TestClient(create_app(runtime=rebuilt), client=("127.0.0.1", 50000)) as again:
            assert _reads(again, t) == before  # byte-identical
    finally:
        rebuilt.close()
    r = new("dr", "restore", "--from", "remote")  # never over a machine that has data
    assert r.exit_code == 1 and "backup_restore_refused" in r.stderr


def test_in_place_and_single_tenant_restore_from_the_command_line(
    settings: Settings,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    tmp_path: Path,
) -> None:
    t, other = make_tenant(), make_tenant()
    assert client.put(f"{BASE}/a", json={"v": 1}, headers=t.headers).is_success
    assert client.put(f"{BASE}/o", json={"v": 1}, headers=other.headers).is_success
    before = _reads(client, t)
    cli = _cli(tmp_path, _env(settings, settings.data_dir, {}))
    name = json.loads(cli("backup", "run", "--class", "daily").stdout)["generation"]
    client.put(f"{BASE}/a", json={"v": 2}, headers=t.headers)
    client.put(f"{BASE}/o", json={"v": 2}, headers=other.headers)
    other_after = _reads(client, other)

    r = cli("restore", "--generation", name, "--tenant", t.tenant.code)
    assert r.exit_code == 1 and "--yes" in r.stderr
    r = cli("restore", "--generation", name, "--tenant", t.tenant.code, "--yes")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["rows"]["records"] == 1
    assert _reads(client, t) == before
    assert _reads(client, other) == other_after

    r = cli("restore", "--generation", name, "--in-place")
    assert r.exit_code == 1 and "--yes" in r.stderr
    r = cli("restore", "--generation", name, "--to", str(tmp_path / "x"), "--in-place")
    assert r.exit_code == 1 and "exactly one" in r.stderr
    client.close()  # the service is stopped for an in-place restore
    r = cli("restore", "--generation", name, "--in-place", "--yes")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    aside = Path(result["moved_aside_to"])
    assert (aside / "hokan.db").is_file() and (aside / "keyring.db").is_file()
    again = Runtime(settings)
    try:
        with TestClient(create_app(runtime=again), client=("127.0.0.1", 50000)) as c:
            assert c.get(f"{BASE}/o", headers=other.headers).json()["data"] == {"v": 1}
            assert _reads(c, t) == before
    finally:
        again.close()
