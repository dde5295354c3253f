"""Client-certificate identity (EDGE-1): which terminal is on the other end.

The certificate comes from the TLS layer itself (``hokan serve --tls`` puts it
in the ASGI ``tls`` extension) or from the trusted nginx front, which verified
it against Hokan's CA and its CRL and forwards it URL-encoded in
``X-Client-Cert`` with ``X-Client-Verify: SUCCESS``. Those headers are believed
only when the socket peer is in ``HOKAN_TRUSTED_PROXIES`` and are removed from
every request before the app sees it.

The app checks again, per request: signed by Hokan's CA, known, not revoked
(read fresh, so a revocation applies at once, before the CRL reaches the
front), inside its validity. It then publishes the terminal in the request
state and its fingerprint in ``cert_fingerprint_var`` (sessions bind to it,
audit entries record it). ``HOKAN_CLIENT_CERT_REQUIRED`` (always on in
production) refuses requests without one; health probes are exempt.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from cryptography import x509
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from hokan.audit.context import cert_fingerprint_var
from hokan.certificates.ca import CertificateAuthority, fingerprint
from hokan.certificates.errors import (
    CaMissing,
    CertificateExpired,
    CertificateRequired,
    CertificateRevoked,
    CertificateUnknown,
)
from hokan.certificates.repository import state_by_fingerprint
from hokan.edge.admission import NetworkSet, parse_address, resolve
from hokan.edge.refusals import refuse
from hokan.kit.clock import utcnow
from hokan.kit.errors import HokanError

if TYPE_CHECKING:
    from hokan.edge.host import EdgeHost

STATE_KEY = "hokan.terminal"
CERT_HEADER = b"x-client-cert"
VERIFY_HEADER = b"x-client-verify"
_CERT_HEADERS = frozenset({CERT_HEADER, VERIFY_HEADER})
# Probes and the Prometheus scrape (itself limited to HOKAN_METRICS_CIDRS).
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass(frozen=True, slots=True)
class Terminal:
    serial: str
    fingerprint: str
    tenant_id: uuid.UUID | None  # None: an operator terminal (Hokan's own staff)
    name: str


def terminal_of(request_or_scope: HTTPConnection | Scope) -> Terminal | None:
    """The request's verified terminal, or None when it presented no certificate."""
    scope = (
        request_or_scope.scope if isinstance(request_or_scope, HTTPConnection) else request_or_scope
    )
    terminal = (scope.get("state") or {}).get(STATE_KEY)
    return terminal if isinstance(terminal, Terminal) else None


class _Parsed:
    """PEM → (fingerprint, signed by our CA), cached: parsing and an RSA verify per
    request would cost more than the rest of the edge together."""

    def __init__(self, ca: CertificateAuthority, size: int = 4096) -> None:
        self.ca = ca
        self.size = size
        self._cache: OrderedDict[bytes, tuple[str, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, pem: bytes) -> tuple[str, bool]:
        with self._lock:
            hit = self._cache.get(pem)
            if hit is not None:
                self._cache.move_to_end(pem)
                return hit
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            return "", False
        try:
            ours = self.ca.issued_by_us(cert)
        except CaMissing:
            return fingerprint(cert), False  # not cached: the CA may be created later
        result = (fingerprint(cert), ours)
        with self._lock:
            self._cache[pem] = result
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return result


def _within(now: datetime, not_before: datetime, not_after: datetime) -> bool:
    return not_before <= now < not_after


class TerminalIdentityMiddleware:
    def __init__(self, app: ASGIApp, runtime: EdgeHost) -> None:
        self.app = app
        self.runtime = runtime
        self.trusted = NetworkSet(runtime.settings.trusted_proxy_networks)
        self.required = runtime.settings.requires_client_cert
        self.parsed = _Parsed(runtime.ca)

    def _presented(self, scope: Scope) -> tuple[bytes | None, bool]:
        """(PEM, verified-by-the-front) from the TLS layer or a trusted front; strips headers."""
        tls = (scope.get("extensions") or {}).get("tls") or {}
        chain = tls.get("client_cert_chain") or []
        headers = scope["headers"]
        forwarded: dict[bytes, bytes] = {}
        if any(name in _CERT_HEADERS for name, _ in headers):
            forwarded = {n: v for n, v in headers if n in _CERT_HEADERS}
            scope["headers"] = [(n, v) for n, v in headers if n not in _CERT_HEADERS]
        if chain:
            return str(chain[0]).encode(), True
        if tls.get("client_cert_required"):
            return None, False  # our own TLS layer: no header speaks for a certificate
        if not forwarded.get(CERT_HEADER) or not self.trusted:
            return None, False
        client = scope.get("client")
        peer = parse_address(client[0]) if client else None
        if peer is None or peer not in self.trusted:
            return None, False  # a forged header from a caller that is not our front
        pem = unquote(forwarded[CERT_HEADER].decode("latin-1")).encode()
        return pem, forwarded.get(VERIFY_HEADER) == b"SUCCESS"

    def _required(self, scope: Scope) -> bool:
        """Required by settings, or by our own TLS layer (``hokan serve --tls``)."""
        tls = (scope.get("extensions") or {}).get("tls") or {}
        return self.required or bool(tls.get("client_cert_required"))

    async def identify(self, pem: bytes, verified: bool) -> Terminal:
        fp, ours = self.parsed.get(pem)
        if not verified or not ours:
            raise CertificateUnknown
        state = await self.runtime.call(partial(state_by_fingerprint, self.runtime.db, fp))
        if state is None:
            raise CertificateUnknown
        if state.revoked:
            raise CertificateRevoked
        if not _within(utcnow(), state.not_before, state.not_after):
            raise CertificateExpired
        return Terminal(state.serial, fp, state.tenant_id, state.terminal)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        pem, verified = self._presented(scope)
        terminal: Terminal | None = None
        try:
            if pem is not None:
                terminal = await self.identify(pem, verified)
            elif self._required(scope) and scope["path"] not in EXEMPT_PATHS:
                raise CertificateRequired
        except HokanError as exc:
            # Admission has not run yet (it comes next): key the refusal on the real client.
            client = scope.get("client")
            forwarded = [
                v.decode("latin-1") for n, v in scope["headers"] if n == b"x-forwarded-for"
            ]
            addr = resolve(client[0] if client else "", forwarded, self.trusted)
            await refuse(self.runtime, exc, str(addr or ""), scope, receive, send)
            return
        if terminal is None:
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        state[STATE_KEY] = terminal
        token = cert_fingerprint_var.set(terminal.fingerprint)
        try:
            await self.app(scope, receive, send)
        finally:
            cert_fingerprint_var.reset(token)
