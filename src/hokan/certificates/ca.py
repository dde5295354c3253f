"""Hokan's client-certificate CA: its key lives in the keyring database, wrapped by
the master key (never in the system database); it signs terminal certificates,
the CRL the front checks, and (for ``hokan serve --tls`` on small installs) a
server certificate.

RSA throughout (CA 3072 bits, leaves 2048) with SHA-256 signatures: the one
combination every Windows 10/11 and macOS release imports and presents without
surprises. PKCS#12 algorithms: see :func:`pkcs12_bundle`.
"""

from __future__ import annotations

import ipaddress
import threading
import uuid
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hokan.certificates.errors import CaExists, CaMissing
from hokan.keyring.errors import MasterKeyMismatch
from hokan.keyring.service import Keyring
from hokan.kit import crypto
from hokan.kit.clock import utcnow
from hokan.models import KeyringMeta

_KEY_NAME = "client_ca_key"
_CERT_NAME = "client_ca_cert"
_KEY_AAD = crypto.aad("client-ca-key", {})
_BACKDATE = timedelta(minutes=5)  # clients with a slightly slow clock still accept it


def _key_usage(**allowed: bool) -> x509.KeyUsage:
    """A KeyUsage extension with only the named usages set."""
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ]
    return x509.KeyUsage(**{name: allowed.get(name, False) for name in names})


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate as ``AA:BB:…`` (95 characters), as audit entries show it."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def serial_hex(serial: int) -> str:
    """The serial as nginx's ``$ssl_client_serial`` and ``openssl x509 -serial`` print it."""
    return format(serial, "X")


class CertificateAuthority:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._cert: x509.Certificate | None = None
        self._lock = threading.Lock()

    # -- the CA itself ------------------------------------------------------

    def exists(self) -> bool:
        with self.keyring.db.session() as s:
            return s.get(KeyringMeta, _CERT_NAME) is not None

    def init(
        self,
        common_name: str = "Hokan Terminal CA",
        days: int = 3650,
        key: rsa.RSAPrivateKey | None = None,
    ) -> x509.Certificate:
        """Create the CA key (or adopt ``key``) and its self-signed certificate, once."""
        key = key or rsa.generate_private_key(public_exponent=65537, key_size=3072)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hokan"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        now = utcnow()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with self.keyring.db.session(write=True) as s:
            if s.get(KeyringMeta, _CERT_NAME) is not None:
                raise CaExists
            s.add(KeyringMeta(name=_KEY_NAME, value=self.keyring.master.wrap(der, _KEY_AAD)))
            s.add(KeyringMeta(name=_CERT_NAME, value=cert.public_bytes(serialization.Encoding.DER)))
        with self._lock:
            self._cert = cert
        return cert

    def certificate(self) -> x509.Certificate:
        """The CA certificate (cached: it never changes once made)."""
        if self._cert is None:
            with self.keyring.db.session() as s:
                row = s.get(KeyringMeta, _CERT_NAME)
                if row is None:
                    raise CaMissing
                cert = x509.load_der_x509_certificate(row.value)
            with self._lock:
                self._cert = cert
        return self._cert

    def certificate_pem(self) -> bytes:
        return self.certificate().public_bytes(serialization.Encoding.PEM)

    def _private_key(self) -> rsa.RSAPrivateKey:
        # Unwrapped only for a signature and dropped: nothing keeps it in memory.
        with self.keyring.db.session() as s:
            row = s.get(KeyringMeta, _KEY_NAME)
            if row is None:
                raise CaMissing
            wrapped = row.value
        try:
            der = self.keyring.master.unwrap(wrapped, _KEY_AAD)
        except crypto.DecryptionError:
            raise MasterKeyMismatch("the CA key does not open under the master key") from None
        key = serialization.load_der_private_key(der, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    def issued_by_us(self, cert: x509.Certificate) -> bool:
        """True when ``cert`` carries a valid signature of this CA."""
        ca = self.certificate()
        if cert.issuer != ca.subject:
            return False
        public = ca.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        hash_algorithm = cert.signature_hash_algorithm
        if hash_algorithm is None:
            return False
        try:
            public.verify(
                cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hash_algorithm
            )
        except InvalidSignature:
            return False
        return True

    # -- leaves -------------------------------------------------------------

    def _leaf(
        self,
        subject: x509.Name,
        sans: list[x509.GeneralName],
        usage: x509.ObjectIdentifier,
        days: int,
        not_before: datetime | None,
    ) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        ca = self.certificate()
        ca_key = self._private_key()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        start = (not_before or utcnow()) - _BACKDATE
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + _BACKDATE + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(ca_key, hashes.SHA256()), key

    def issue_terminal(
        self,
        tenant_id: uuid.UUID | None,
        tenant_code: str,
        terminal: str,
        days: int,
        not_before: datetime | None = None,
    ) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        """A tenant's terminal, or with ``tenant_id`` None an operator terminal."""
        unit = "Hokan terminal" if tenant_id else "Hokan operator terminal"
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, tenant_code),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
                x509.NameAttribute(NameOID.COMMON_NAME, terminal),
            ]
        )
        urn = f"urn:hokan:tenant:{tenant_id}" if tenant_id else "urn:hokan:operator"
        sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(urn)]
        return self._leaf(subject, sans, ExtendedKeyUsageOID.CLIENT_AUTH, days, not_before)

    def issue_server(
        self, names: list[str], days: int
    ) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        return self._leaf(subject, sans, ExtendedKeyUsageOID.SERVER_AUTH, days, None)

    # -- revocation ---------------------------------------------------------

    def crl(self, revoked: list[tuple[str, datetime]], days: int, number: int) -> bytes:
        """A signed CRL (PEM) listing ``(serial_hex, revoked_at)``, valid ``days``."""
        ca = self.certificate()
        now = utcnow()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca.subject)
            .last_update(now - _BACKDATE)
            .next_update(now + timedelta(days=days))
            .add_extension(x509.CRLNumber(number), critical=False)
        )
        for serial, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(int(serial, 16))
                .revocation_date(when)
                .build()
            )
        crl = builder.sign(self._private_key(), hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.PEM)


def pem_pair(cert: x509.Certificate, key: rsa.RSAPrivateKey) -> tuple[bytes, bytes]:
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def pkcs12_bundle(
    cert: x509.Certificate,
    key: rsa.RSAPrivateKey,
    ca: x509.Certificate,
    name: str,
    password: bytes,
    *,
    legacy: bool = False,
) -> bytes:
    """A password-protected PKCS#12 file with the key, the certificate and the CA.

    Default: key and certificates under PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC)
    with an HMAC-SHA1 MAC. Windows 10 (1709+) and 11 import PBES2/AES; macOS
    Keychain refuses files whose MAC is HMAC-SHA256 (OpenSSL 3's default), so the
    MAC stays SHA-1 (a keyed MAC over a password-derived key, not a signature).
    ``legacy`` gives 3DES/SHA-1 for Windows before 10 1709 and Server 2016.
    """
    if legacy:
        algorithm = pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC
    else:
        algorithm = pkcs12.PBES.PBESv2SHA256AndAES256CBC
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(100_000)
        .key_cert_algorithm(algorithm)
        .hmac_hash(hashes.SHA1())  # noqa: S303  (see the docstring: macOS needs it)
        .build(password)
    )
    return pkcs12.serialize_key_and_certificates(name.encode(), key, cert, [ca], encryption)
