"""Terminal certificates: CA in the keyring, issuance, PKCS#12, revocation, CRL (EDGE-1)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlalchemy import select, text

from hokan.certificates import service
from hokan.certificates.errors import (
    CaExists,
    CaMissing,
    CertificateAlreadyRevoked,
    CertificateNotFound,
    InvalidTerminalName,
)
from hokan.models import AuditEvent, Tenant, TenantStatus
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from hokan.tenants.errors import TenantInactive
from tests import pki
from tests.conftest import TenantHandle


def _tenant(runtime: Runtime, handle: TenantHandle) -> Tenant:
    with runtime.db.session(system=True) as s:
        row = s.get(Tenant, handle.id)
        assert row is not None
        s.expunge(row)
        return row


def test_issuing_needs_the_ca_and_the_ca_is_made_once(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = _tenant(runtime, make_tenant())
    with pytest.raises(CaMissing), runtime.db.session(write=True, system=True) as s:
        service.issue(s, runtime.ca, t, "pc-1", 30, SYSTEM)
    pki.init_ca(runtime)
    with pytest.raises(CaExists):
        runtime.ca.init(key=pki.ca_key())


def test_ca_key_is_in_the_keyring_database_only(runtime: Runtime, tmp_path: Path) -> None:
    pki.init_ca(runtime)
    der_key_tail = pki.ca_key().private_numbers().d.to_bytes(384, "big")[-16:]
    with runtime.keyring_db.session() as s:
        names = {r for (r,) in s.execute(text("SELECT name FROM keyring_meta"))}
    assert {"client_ca_key", "client_ca_cert"} <= names
    # The system database holds no key material: scan every text/blob cell for the key.
    with runtime.db.reader(system=True) as conn:  # system scope: row-level security shows all
        tables = [t for t in conn.dialect.get_table_names(conn) if t != "alembic_version"]
        for table in tables:
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for cell in row:
                    assert not (isinstance(cell, bytes) and der_key_tail in cell)
    # …and what the keyring holds is wrapped, not the raw key.
    with runtime.keyring_db.session() as s:
        (wrapped,) = s.execute(
            text("SELECT value FROM keyring_meta WHERE name = 'client_ca_key'")
        ).one()
    assert der_key_tail not in bytes(wrapped)


def test_issue_gives_a_pkcs12_bundle_that_opens_with_its_password_only(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    pki.init_ca(runtime)
    t = _tenant(runtime, make_tenant())
    with runtime.db.session(write=True, system=True) as s:
        issued = service.issue(s, runtime.ca, t, "受付PC 1", 90, SYSTEM)
        row = issued.certificate
        assert row.tenant_id == t.id and row.terminal == "受付PC 1"
    key, cert, cas = pkcs12.load_key_and_certificates(issued.pkcs12, issued.password.encode())
    assert key is not None and cert is not None
    assert [c.subject for c in cas] == [runtime.ca.certificate().subject]
    assert format(cert.serial_number, "X") == row.serial
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert runtime.ca.issued_by_us(cert)
    assert 89 <= (row.not_after - row.not_before).days <= 90
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(issued.pkcs12, b"wrong password")
    with runtime.db.session(system=True) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "certificate.issue"))
        [event] = list(events)
    assert event.tenant_id == t.id and event.target_id == row.serial
    assert issued.password not in str(event.detail)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize(
    ("legacy", "expected"),
    [(False, ["MAC: sha1", "AES-256-CBC", "hmacWithSHA256"]), (True, ["MAC: sha1", "TripleDES"])],
)
def test_pkcs12_algorithms_are_the_ones_windows_and_macos_import(
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    tmp_path: Path,
    legacy: bool,
    expected: list[str],
) -> None:
    pki.init_ca(runtime)
    t = _tenant(runtime, make_tenant())
    with runtime.db.session(write=True, system=True) as s:
        issued = service.issue(s, runtime.ca, t, "pc", 30, SYSTEM, legacy=legacy)
    bundle = tmp_path / "t.p12"
    bundle.write_bytes(issued.pkcs12)
    args = ["openssl", "pkcs12", "-in", str(bundle), "-info", "-noout"]
    args += ["-passin", f"pass:{issued.password}"] + (["-legacy"] if legacy else [])
    out = subprocess.run(args, capture_output=True, text=True, check=True).stderr
    for fragment in expected:
        assert fragment in out


def test_terminal_names_are_checked(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    pki.init_ca(runtime)
    t = _tenant(runtime, make_tenant())
    for bad in ("", "x" * 65, "pc\n1", "pc\x00"):
        with pytest.raises(InvalidTerminalName), runtime.db.session(write=True, system=True) as s:
            service.issue(s, runtime.ca, t, bad, 30, SYSTEM)
    t.status = TenantStatus.suspended  # a suspended tenant gets no new terminals
    with pytest.raises(TenantInactive), runtime.db.session(write=True, system=True) as s:
        service.issue(s, runtime.ca, t, "pc", 30, SYSTEM)


def test_revocation_is_recorded_once_and_published_in_the_crl(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], tmp_path: Path
) -> None:
    pki.init_ca(runtime)
    a, b = make_tenant(), make_tenant()
    kept = pki.issue(runtime, a.id, tmp_path)
    gone = pki.issue(runtime, a.id, tmp_path)
    with runtime.db.session(write=True, system=True) as s:
        with pytest.raises(CertificateNotFound):  # another tenant's serial is "not found"
            service.get(s, gone.serial, b.id)
        service.revoke(s, service.get(s, gone.serial, a.id), SYSTEM, "lost")
    with pytest.raises(CertificateAlreadyRevoked), runtime.db.session(write=True, system=True) as s:
        service.revoke(s, service.get(s, gone.serial), SYSTEM, "again")
    with runtime.db.session(system=True) as s:
        crl = x509.load_pem_x509_crl(service.crl(s, runtime.ca, 30))
        assert service.as_json(service.get(s, gone.serial))["status"] == "revoked"
        assert service.as_json(service.get(s, kept.serial))["status"] == "valid"
    ca = runtime.ca.certificate()
    assert crl.issuer == ca.subject and crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(int(gone.serial, 16)) is not None
    assert crl.get_revoked_certificate_by_serial_number(int(kept.serial, 16)) is None
