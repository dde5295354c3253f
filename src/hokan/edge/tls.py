"""``hokan serve --tls``: uvicorn terminates TLS itself and requires client certificates.

Small installs without nginx. The server's TLS context accepts TLS 1.2+ and asks
for a client certificate *optionally*, like nginx's ``ssl_verify_client
optional``: a certificate that is presented must chain to Hokan's CA and be
within its validity (else the handshake fails), but a missing one reaches the
app, which answers a JSON 403 ``certificate_required`` the client can show —
refusing it in the handshake leaves a TLS 1.3 client with an empty reply.
Revocation is the app's check too (the certificate table, current to the
second, not a CRL written at start): ``certificate_revoked``.

uvicorn does not hand the client certificate to the app, so
:class:`ClientCertProtocol` reads it from the TLS connection and puts it in the
ASGI ``tls`` extension (``client_cert_chain``, and ``client_cert_required``),
where the terminal middleware takes it from: the same per-request checks as
behind nginx apply. Handshakes that fail are logged and counted
(:data:`handshake_refusals`), never dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

# Modern AEAD suites only for TLS 1.2 (TLS 1.3's are all AEAD already).
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


log = logging.getLogger("hokan.tls")
# Refused handshakes since start, by reason (OpenSSL's verify message or alert).
handshake_refusals: Counter[str] = Counter()
_LOG_EVERY = 60.0  # at most one line per reason per minute; the count says the rest
_last_logged: dict[str, float] = {}
_lock = threading.Lock()


def _refused(exc: ssl.SSLError) -> None:
    reason = (
        exc.verify_message
        if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message
        else (exc.reason or type(exc).__name__)
    )
    now = time.monotonic()
    with _lock:
        handshake_refusals[reason] += 1
        count = handshake_refusals[reason]
        quiet = now - _last_logged.get(reason, -_LOG_EVERY) < _LOG_EVERY
        if not quiet:
            _last_logged[reason] = now
    if not quiet:
        log.warning(
            "tls handshake refused",
            extra={"fields": {"reason": str(reason)[:120], "refusals": count}},
        )


class _WatchedSSLObject(ssl.SSLObject):
    """The TLS connection asyncio drives: a failed handshake is reported, then raised."""

    def do_handshake(self) -> None:
        try:
            super().do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise  # not a failure: more bytes to come
        except ssl.SSLError as exc:
            _refused(exc)
            raise


def server_context(
    cert: Path, key: Path, client_ca: Path, crl: Path | None = None
) -> ssl.SSLContext:
    """TLS 1.2+, a client certificate optional but verified when presented.

    ``crl`` is accepted for compatibility and not loaded: revocation is decided by
    the app, so a revoked terminal gets ``certificate_revoked`` instead of a reset.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.load_cert_chain(str(cert), str(key))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(cafile=str(client_ca))
    ctx.sslobject_class = _WatchedSSLObject
    return ctx


def context_factory(
    cert: Path, key: Path, client_ca: Path, crl: Path, _config: Any, _default: Callable[[], Any]
) -> ssl.SSLContext:
    return server_context(cert, key, client_ca, crl)


def _with_client_cert(app: ASGIApp, tls: dict[str, Any]) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("extensions", {})["tls"] = tls
        await app(scope, receive, send)

    return wrapped


class ClientCertProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, plus the ASGI TLS extension with the client certificate."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        tls = {
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
            "tls_version": ssl_object.version(),
            # Optional at the TLS layer, required by the app: it answers 403 JSON.
            "client_cert_required": True,
        }
        self.app = _with_client_cert(self.app, tls)


def uvicorn_options(cert: Path, key: Path, client_ca: Path, crl: Path) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config``: TLS with required client
    certificates, and the protocol that hands the certificate to the app."""
    return {
        "http": ClientCertProtocol,
        "ssl_certfile": str(cert),
        "ssl_keyfile": str(key),
        "ssl_context_factory": partial(context_factory, cert, key, client_ca, crl),
    }
