# ruff: noqa: F811  (pytest injects the imported `cli` fixture by parameter name)
"""'hokan cert' as an operator runs it, and a real 'hokan serve --tls' process."""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from hokan.certificates.ca import pem_pair
from tests.cli.test_cli import HOKAN, cli  # noqa: F401  (the fixture)
from tests.conftest import wait_port

Cli = Callable[..., subprocess.CompletedProcess[str]]


def _issue(cli: Cli, tmp_path: Path, terminal: str) -> tuple[str, Path, str]:
    out = cli(
        "cert", "issue", "--tenant", "acme", "--terminal", terminal,
        "--out", str(tmp_path / f"{terminal}.p12"),
    ).stdout  # fmt: skip
    serial = re.search(r"issued ([0-9A-F]+) ", out)
    password = re.search(r"bundle password \(shown once\): (\S+)", out)
    assert serial and password, out
    return serial.group(1), tmp_path / f"{terminal}.p12", password.group(1)


def test_cert_commands_issue_list_show_revoke_and_publish_the_crl(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    cli("tenant", "create", "--code", "acme", "--name", "Acme 株式会社", "--product", "staff")
    assert (
        "ca_not_initialised"
        in cli("cert", "issue", "--tenant", "acme", "--terminal", "x", check=False).stderr
    )
    assert "CA created" in cli("cert", "ca", "init").stdout
    assert "ca_exists" in cli("cert", "ca", "init", check=False).stderr
    serial, bundle, password = _issue(cli, tmp_path, "受付PC")
    assert bundle.stat().st_mode & 0o777 == 0o600
    key, cert, _ = pkcs12.load_key_and_certificates(bundle.read_bytes(), password.encode())
    assert key is not None and cert is not None and format(cert.serial_number, "X") == serial
    listed = json.loads(cli("cert", "list", "--tenant", "acme").stdout)
    assert [(c["serial"], c["terminal"], c["status"]) for c in listed] == [
        (serial, "受付PC", "valid")
    ]
    cli("cert", "revoke", serial, "--reason", "lost")
    shown = json.loads(cli("cert", "show", serial).stdout)
    assert shown["status"] == "revoked" and shown["revocation_reason"] == "lost"
    assert json.loads(cli("cert", "list", "--valid-only").stdout) == []
    both = cli("cert", "issue", "--tenant", "acme", "--operator", "--terminal", "x", check=False)
    assert both.returncode != 0 and "exactly one" in both.stderr
    ops = cli(
        "cert", "issue", "--operator", "--terminal", "ops-1", "--out", str(tmp_path / "o.p12")
    )
    assert "for hokan-operations / ops-1" in ops.stdout
    [listed_ops] = json.loads(cli("cert", "list", "--valid-only").stdout)
    assert listed_ops["tenant_id"] is None and listed_ops["terminal"] == "ops-1"
    cli("cert", "crl", "--out", str(tmp_path / "crl.pem"))
    crl = x509.load_pem_x509_crl((tmp_path / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None
    ca_pem = cli("cert", "ca", "show").stdout
    assert crl.is_signature_valid(x509.load_pem_x509_certificate(ca_pem.encode()).public_key())  # type: ignore[arg-type]


@pytest.mark.slow
def test_serve_tls_requires_a_terminal_certificate(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    cli("tenant", "create", "--code", "acme", "--name", "Acme", "--product", "staff")
    token = cli("tenant", "token", "create", "acme").stdout.strip().splitlines()[-1].split()[-1]
    cli("cert", "ca", "init")
    _, bundle, password = _issue(cli, tmp_path, "pc-1")
    tls = tmp_path / "server-tls"
    cli("cert", "server", "--name", "127.0.0.1", "--out-dir", str(tls))
    key, cert, _ = pkcs12.load_key_and_certificates(bundle.read_bytes(), password.encode())
    assert key is not None and cert is not None
    cert_pem, key_pem = pem_pair(cert, key)  # type: ignore[arg-type]
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "c.key").write_bytes(key_pem)
    ca_file = tmp_path / "ca.pem"
    cli("cert", "ca", "show", "--out", str(ca_file))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **cli.env,  # type: ignore[attr-defined]
        "HOKAN_TLS_CERT_FILE": str(tls / "server.pem"),
        "HOKAN_TLS_KEY_FILE": str(tls / "server.key"),
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*HOKAN, "serve", "--tls", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
    try:
        ctx = ssl.create_default_context(cafile=str(ca_file))
        ctx.load_cert_chain(str(tmp_path / "c.pem"), str(tmp_path / "c.key"))
        url = f"https://127.0.0.1:{port}"
        if not wait_port(port, proc=proc):
            pytest.fail("hokan serve --tls did not start: " + log_path.read_text())
        r = httpx.get(
            f"{url}/api/v1/tenant", verify=ctx, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 200 and r.json()["code"] == "acme"
        bare = ssl.create_default_context(cafile=str(ca_file))
        # No certificate: an answer the client can show, not a dropped connection.
        r = httpx.get(
            f"{url}/api/v1/tenant", verify=bare, headers={"Authorization": f"Bearer {token}"}
        )
        assert (r.status_code, r.json()["error"]) == (403, "certificate_required")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
