"""``hokan cert``: Hokan's terminal-certificate CA, terminal certificates, the CRL."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from hokan.audit import service as audit
from hokan.certificates import service
from hokan.certificates.ca import fingerprint, pem_pair
from hokan.cli._common import echo_json, fail, group, operator, runtime, writable_file

app = group("Terminal (client) certificates and their CA.")
ca_app = group("Hokan's client-certificate CA.")
app.add_typer(ca_app, name="ca")


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (it holds a private key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


@ca_app.command("init")
def ca_init(
    name: str = typer.Option("Hokan Terminal CA", help="The CA's common name"),
    days: int = typer.Option(3650, min=365, max=10_950, help="CA validity in days"),
) -> None:
    """Create the CA (once); its key is kept in the keyring database."""
    with runtime() as rt:
        cert = rt.ca.init(name, days)
        with rt.db.session(write=True, system=True) as s:
            audit.record(
                s, operator(), "certificate.ca_init", "ca", fingerprint(cert), detail={"days": days}
            )
        typer.echo(f"CA created: {name}, fingerprint {fingerprint(cert)}")


@ca_app.command("show")
def ca_show(
    out: Path | None = typer.Option(None, help="Write the PEM here instead of stdout"),
) -> None:
    """The CA certificate (PEM), for nginx's ssl_client_certificate."""
    with runtime() as rt:
        pem = rt.ca.certificate_pem()
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(pem)
    else:
        sys.stdout.write(pem.decode())


@app.command("issue")
def issue(
    tenant: str | None = typer.Option(None, help="Tenant code or id"),
    operator_terminal: bool = typer.Option(
        False, "--operator", help="An operator terminal (Hokan's own staff) instead"
    ),
    terminal: str = typer.Option(..., help="Terminal name, e.g. 'reception-pc-1'"),
    days: int = typer.Option(365, min=1, max=1825, help="Validity in days"),
    out: Path | None = typer.Option(
        None, help="PKCS#12 file (default DATA_DIR/terminal-certs/OWNER-SERIAL.p12, 0600)"
    ),
    password_stdin: bool = typer.Option(False, help="Read the bundle password from stdin"),
    legacy: bool = typer.Option(False, help="3DES/SHA-1 bundle for Windows before 10 1709"),
) -> None:
    """Issue a terminal certificate (a tenant's, or with --operator one for Hokan's
    staff); writes a password-protected PKCS#12 bundle (0600)."""
    if (tenant is None) == (not operator_terminal):
        fail("give exactly one of --tenant T and --operator")
    if out is not None:
        writable_file(out)  # before the certificate is issued and audited
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password is not None and len(password) < 12:
        fail("the bundle password must have at least 12 characters")
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        row = rt.tenants.get(s, tenant) if tenant else None
        issued = service.issue(
            s, rt.ca, row, terminal, days, operator(), password=password, legacy=legacy
        )
        cert = issued.certificate
        owner = row.code if row else service.OPERATIONS
        # Never the current directory: a private key lands only where it was asked to,
        # or inside the data directory (0700), which holds keys already.
        target = out or _private_dir(rt.settings.data_dir / "terminal-certs") / (
            f"{owner}-{cert.serial[:8].lower()}.p12"
        )
        _write_private(target, issued.pkcs12)
        typer.echo(f"issued {cert.serial} for {owner} / {cert.terminal} → {target}")
        typer.echo(f"fingerprint {cert.fingerprint}, valid until {cert.not_after:%Y-%m-%d}")
        if password is None:
            typer.echo(f"bundle password (shown once): {issued.password}")


@app.command("list")
def list_(
    tenant: str | None = typer.Option(None, help="Only this tenant (code or id)"),
    valid_only: bool = typer.Option(False, help="Hide revoked certificates"),
) -> None:
    """Terminal certificates (JSON)."""
    from hokan.certificates.repository import CertificateRepository

    with runtime() as rt, rt.db.session(system=True) as s:
        tenant_id = rt.tenants.get(s, tenant).id if tenant else None
        rows = CertificateRepository(s, tenant_id).all(include_revoked=not valid_only)
        echo_json([service.as_json(r) for r in rows])


@app.command("show")
def show(serial: str) -> None:
    """One terminal certificate (JSON)."""
    with runtime() as rt, rt.db.session(system=True) as s:
        echo_json(service.as_json(service.get(s, serial)))


@app.command("revoke")
def revoke(
    serial: str,
    reason: str = typer.Option("unspecified", help="e.g. lost, stolen, retired"),
) -> None:
    """Revoke at once in the app; run 'hokan cert crl' and reload nginx to publish it."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        row = service.revoke(s, service.get(s, serial), operator(), reason)
        typer.echo(f"revoked {row.serial} ({row.terminal})")


@app.command("crl")
def crl(
    out: Path | None = typer.Option(None, help="Write the PEM here (atomically) instead of stdout"),
) -> None:
    """The CRL (PEM) for the front; regenerate daily and on every revocation."""
    with runtime() as rt, rt.db.session(system=True) as s:
        pem = service.crl(s, rt.ca, rt.settings.crl_days)
    if out is None:
        sys.stdout.write(pem.decode())
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(pem)
    tmp.replace(out)  # nginx never reads a half-written file


@app.command("server")
def server(
    name: list[str] = typer.Option(..., help="Host name or IP (repeatable; first is the CN)"),
    out_dir: Path = typer.Option(..., help="Directory for server.pem and server.key"),
    days: int = typer.Option(397, min=1, max=825),
) -> None:
    """A server certificate from Hokan's CA for 'hokan serve --tls' (small installs)."""
    out_dir.mkdir(parents=True, exist_ok=True)  # before the certificate is issued and audited
    with runtime() as rt:
        cert, key = rt.ca.issue_server(name, days)
        with rt.db.session(write=True, system=True) as s:
            audit.record(s, operator(), "certificate.server_issue", "server", name[0])
    cert_pem, key_pem = pem_pair(cert, key)
    (out_dir / "server.pem").write_bytes(cert_pem)
    _write_private(out_dir / "server.key", key_pem)
    typer.echo(f"wrote {out_dir / 'server.pem'} and {out_dir / 'server.key'}")
