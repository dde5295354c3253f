"""``hokan serve --tls``: uvicorn terminates TLS itself and requires client certificates.

Small installs without nginx. The server's TLS context accepts TLS 1.2+ and only
client certificates chaining to Hokan's CA, checked against the CRL written at
start. uvicorn does not hand the client certificate to the app, so
:class:`ClientCertProtocol` reads it from the TLS connection and puts it in the
ASGI ``tls`` extension (``client_cert_chain``), where the terminal middleware
takes it from: the same per-request checks as behind nginx apply, and
revocation takes effect at once even though the CRL is only read at start.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

# Modern AEAD suites only for TLS 1.2 (TLS 1.3's are all AEAD already).
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def server_context(cert: Path, key: Path, client_ca: Path, crl: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.load_cert_chain(str(cert), str(key))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=str(client_ca))
    ctx.load_verify_locations(cafile=str(crl))
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
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
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if der:
            tls = {
                "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)],
                "tls_version": ssl_object.version(),
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
