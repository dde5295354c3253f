"""uvicorn's HTTP protocol with a header read timeout (slowloris defence, EDGE-4).

uvicorn arms no timer until a first response has been sent, so a client that
trickles its request headers holds a connection (and a file descriptor)
forever. This protocol closes any connection whose request line and headers
have not all arrived within ``HOKAN_IPS_HEADER_TIMEOUT_SECONDS`` of the
connection opening or of the request starting.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("hokan.ips")


@lru_cache(maxsize=1)
def _header_timeout() -> float:
    from hokan.settings import load_settings

    return load_settings().ips_header_timeout_seconds


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    _header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(_header_timeout(), self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            log.info("header timeout", extra={"fields": {"reason": "headers too slow"}})
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
