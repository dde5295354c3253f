"""Test PKI helpers: Hokan's CA made once per session, terminal certificates as PEM files."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from hokan.certificates import service
from hokan.certificates.ca import pem_pair
from hokan.kit.clock import utcnow
from hokan.models import Tenant
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime

PASSWORD = "correct horse battery"


@cache
def ca_key() -> rsa.RSAPrivateKey:
    # 3072-bit key generation takes up to a second: once per test session.
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def init_ca(runtime: Runtime) -> None:
    runtime.ca.init(key=ca_key())


@dataclass
class Issued:
    serial: str
    fingerprint: str
    cert_pem: bytes
    key_pem: bytes
    cert_file: Path
    key_file: Path


def issue(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    directory: Path,
    name: str = "reception-pc",
    days: int = 30,
    not_before: datetime | None = None,
) -> Issued:
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        issued = service.issue(
            s, runtime.ca, tenant, name, days, SYSTEM, password=PASSWORD, not_before=not_before
        )
        serial, fp = issued.certificate.serial, issued.certificate.fingerprint
    key, cert, _ = pkcs12.load_key_and_certificates(issued.pkcs12, PASSWORD.encode())
    assert isinstance(key, rsa.RSAPrivateKey) and cert is not None
    cert_pem, key_pem = pem_pair(cert, key)
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / f"{serial}.pem", directory / f"{serial}.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    return Issued(serial, fp, cert_pem, key_pem, cert_file, key_file)


def issue_expired(runtime: Runtime, tenant_id: uuid.UUID, directory: Path) -> Issued:
    return issue(
        runtime, tenant_id, directory, "old-pc", days=1, not_before=utcnow() - timedelta(days=10)
    )


def foreign(directory: Path, cn: str = "reception-pc") -> Issued:
    """A client certificate from an impostor CA whose name is exactly Hokan's."""
    ca_key_ = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hokan"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Hokan Terminal CA"),
        ]
    )
    now = utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(ca_key_, hashes.SHA256())
    )
    cert_pem, key_pem = pem_pair(cert, key)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "foreign.pem").write_bytes(cert_pem)
    (directory / "foreign.key").write_bytes(key_pem)
    fp = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    return Issued("", fp, cert_pem, key_pem, directory / "foreign.pem", directory / "foreign.key")
