"""ClamAV's daemon as the scanner (``HOKAN_CLAMD_ADDRESS``): the INSTREAM protocol.

The upload is sent to clamd chunk by chunk while it streams in, so nothing is
buffered here. clamd refuses streams over its ``StreamMaxLength``: set it at
least as large as ``HOKAN_ATTACHMENT_MAX_BYTES``. Any failure to get a verdict
raises :class:`ScannerUnavailable` (fail closed).
"""

from __future__ import annotations

import socket
import struct

from hokan.scanning.scanner import ScannerUnavailable, ScanResult, StreamScanner

_MAX_CHUNK = 1024 * 1024


def connect(address: str, timeout: float) -> socket.socket:
    """``host:port`` or ``unix:/path/to/clamd.ctl``."""
    if address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address.removeprefix("unix:"))
        return sock
    host, _, port = address.rpartition(":")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def _reply(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\0"):
        piece = sock.recv(4096)
        if not piece:
            break
        data += piece
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


class _ClamdSession:
    def __init__(self, scanner: ClamdScanner) -> None:
        self.name = scanner.name
        try:
            self.sock = connect(scanner.address, scanner.timeout)
            self.sock.sendall(b"zINSTREAM\0")
        except OSError:
            raise ScannerUnavailable("clamd cannot be reached") from None

    def feed(self, chunk: bytes) -> None:
        try:
            for i in range(0, len(chunk), _MAX_CHUNK):
                piece = chunk[i : i + _MAX_CHUNK]
                self.sock.sendall(struct.pack("!L", len(piece)) + piece)
        except OSError:
            self.sock.close()
            raise ScannerUnavailable("clamd refused the stream (StreamMaxLength?)") from None

    def close(self) -> None:
        self.sock.close()

    def finish(self) -> ScanResult:
        try:
            self.sock.sendall(struct.pack("!L", 0))
            answer = _reply(self.sock)
        except OSError:
            raise ScannerUnavailable("clamd did not answer") from None
        finally:
            self.sock.close()
        # "stream: OK" or "stream: <Signature> FOUND"; anything else is an error.
        verdict = answer.partition(": ")[2]
        if verdict == "OK":
            return ScanResult(True, None, self.name)
        if verdict.endswith(" FOUND"):
            return ScanResult(False, verdict.removesuffix(" FOUND")[:200], self.name)
        raise ScannerUnavailable("clamd could not scan the stream")


class ClamdScanner(StreamScanner):
    name = "clamd"

    def __init__(self, address: str, timeout: float = 30.0) -> None:
        self.address = address
        self.timeout = timeout

    def start(self) -> _ClamdSession:
        return _ClamdSession(self)

    def ping(self) -> bool:
        try:
            with connect(self.address, self.timeout) as sock:
                sock.sendall(b"zPING\0")
                return _reply(sock) == "PONG"
        except OSError:
            return False
