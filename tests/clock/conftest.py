"""A local NTP server for the clock tests: no internet, a clock shifted at will."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

NTP_DELTA = 2_208_988_800  # 1900-01-01 to 1970-01-01
PACKET = struct.Struct("!BBbbII4sQQQQ")  # RFC 4330 § 4, 48 bytes


def ntp_time(unix: float) -> int:
    """A Unix time as a 64-bit NTP timestamp (seconds since 1900, 32.32 fixed point)."""
    return int((unix + NTP_DELTA) * 2**32)


class Responder:
    """An SNTP server on loopback UDP: answers mode-3 requests with mode-4 replies whose
    clock is this host's shifted by ``offset`` seconds.

    ``latency`` is slept after a request arrives and before it is stamped received,
    as a slow network would (it lengthens the measured round trip, not the offset);
    ``stratum``/``leap`` make it an unsynchronised server; ``echo=False`` answers
    with a made-up origin timestamp instead of the client's (not an answer to it).
    """

    def __init__(
        self,
        offset: float = 0.0,
        *,
        latency: float = 0.0,
        stratum: int = 2,
        leap: int = 0,
        echo: bool = True,
        silent: bool = False,
    ) -> None:
        self.offset, self.latency, self.stratum, self.leap = offset, latency, stratum, leap
        self.echo, self.silent = echo, silent
        self.requests = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(512)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(data) < PACKET.size or data[0] & 0b111 != 3:
                continue  # not a client request
            self.requests += 1
            if self.silent:
                continue
            if self.latency:
                time.sleep(self.latency)
            received = ntp_time(time.time() + self.offset)
            client_transmit = PACKET.unpack(data[: PACKET.size])[10]
            origin = client_transmit if self.echo else ntp_time(time.time() - 3600)
            reply = PACKET.pack(
                (self.leap << 6) | (4 << 3) | 4,  # leap, version 4, mode 4 (server)
                self.stratum,
                6,  # poll
                -20,  # precision (about a microsecond)
                0,
                0,
                b"LOCL",
                received,  # reference timestamp
                origin,
                received,
                ntp_time(time.time() + self.offset),  # transmit
            )
            self._sock.sendto(reply, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


@pytest.fixture
def ntp_server() -> Iterator[Callable[..., Responder]]:
    """Start local NTP servers: ``ntp_server(offset=5.0)``; all stopped after the test."""
    started: list[Responder] = []

    def start(offset: float = 0.0, **kwargs: object) -> Responder:
        responder = Responder(offset, **kwargs)  # type: ignore[arg-type]
        started.append(responder)
        return responder

    yield start
    for responder in started:
        responder.close()


@pytest.fixture
def closed_port() -> str:
    """``127.0.0.1:<port>`` where no one listens (UDP): the query goes unanswered."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


class Inbox(Message):
    """What a real SMTP server (aiosmtpd) received."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[bytes] = []

    def handle_message(self, message: object) -> None:
        self.messages.append(bytes(message))  # type: ignore[call-overload]

    def prepare_message(self, session: object, envelope: object) -> bytes:  # type: ignore[override]
        return envelope.original_content  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", inbox
    controller.stop()
