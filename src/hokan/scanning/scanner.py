"""Malware scanning of uploaded files (EDGE-6): one interface, pluggable scanners.

Every upload (record attachments, the vault's identity documents) goes through
:func:`default_scanner` before it is accepted:

* :class:`~hokan.scanning.yara_scanner.YaraScanner` - YARA rules shipped in
  ``scanning/rules/`` (EICAR, executables disguised as documents, Office macros,
  PDF JavaScript), the default;
* :class:`BuiltinScanner` - the same core signatures in pure Python, used when
  ``yara-python`` cannot be loaded;
* :class:`~hokan.scanning.clamd.ClamdScanner` - ClamAV's daemon over INSTREAM when
  ``HOKAN_CLAMD_ADDRESS`` is set.

A scanner scans a whole iterable (:meth:`Scanner.scan`) or is fed chunk by
chunk while the upload streams past (:meth:`Scanner.start`), so no file is
ever held whole in memory. A scanner that cannot decide raises
:class:`ScannerUnavailable`: uploads fail closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from hokan.kit.errors import ServiceUnavailable

if TYPE_CHECKING:
    from hokan.settings import Settings

# The EICAR anti-virus test file (a standard, harmless test signature), split so
# that this source file itself is not flagged by scanners.
_EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

# Executable headers that have no place in a business document upload. A PE file
# is "MZ" plus the "PE\0\0" header its e_lfanew points to: "MZ" alone also starts
# ordinary text (a CSV row "MZ商事,…").
_EXECUTABLE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "Executable.Unix.ELF"),
    (b"\xcf\xfa\xed\xfe", "Executable.Mac.MachO"),
    (b"\xce\xfa\xed\xfe", "Executable.Mac.MachO"),
    (b"\xfe\xed\xfa\xce", "Executable.Mac.MachO"),
    (b"\xfe\xed\xfa\xcf", "Executable.Mac.MachO"),
    (b"\xca\xfe\xba\xbe", "Executable.Mac.MachO"),
)
_HEAD = 4096  # enough for any real e_lfanew


def _is_pe(head: bytes) -> bool:
    if not head.startswith(b"MZ") or len(head) < 0x40:
        return False
    offset = int.from_bytes(head[0x3C:0x40], "little")
    return head[offset : offset + 4] == b"PE\0\0"


class ScannerUnavailable(ServiceUnavailable):
    code = "scanner_unavailable"
    message_ja = "ウイルス検査を実行できないため、ファイルを受け付けられません。"
    message_en = "The malware scanner is unavailable; the file cannot be accepted."
    dependency = "scanner"


@dataclass(frozen=True, slots=True)
class ScanResult:
    clean: bool
    signature: str | None = None  # the matched signature's name, never file content
    scanner: str = "builtin"


class ScanSession(Protocol):
    def feed(self, chunk: bytes) -> None: ...

    def finish(self) -> ScanResult: ...

    def close(self) -> None:
        """Abandon the scan (the upload failed); idempotent."""
        ...


class Scanner(Protocol):
    name: str

    def scan(self, chunks: Iterable[bytes]) -> ScanResult: ...

    def start(self) -> ScanSession: ...


class StreamScanner:
    """Base: :meth:`scan` feeds a fresh session, stopping at the first finding."""

    name = "scanner"

    def start(self) -> ScanSession:  # pragma: no cover - abstract
        raise NotImplementedError

    def scan(self, chunks: Iterable[bytes]) -> ScanResult:
        session = self.start()
        try:
            for chunk in chunks:
                session.feed(chunk)
                early = getattr(session, "found", None)
                if early is not None:
                    return ScanResult(False, early, self.name)
            return session.finish()
        finally:
            session.close()


class _BuiltinSession:
    def __init__(self, name: str) -> None:
        self.name = name
        self.found: str | None = None
        self._head = b""
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        if self.found is not None or not chunk:
            return
        if len(self._head) < _HEAD:
            self._head += chunk[: _HEAD - len(self._head)]
            for magic, signature in _EXECUTABLE_MAGIC:
                if self._head.startswith(magic):
                    self.found = signature
                    return
            if _is_pe(self._head):
                self.found = "Executable.Win.PE"
                return
        window = self._tail + chunk
        if _EICAR in window:
            self.found = "EICAR-Test-File"
            return
        self._tail = window[-(len(_EICAR) - 1) :]

    def finish(self) -> ScanResult:
        return ScanResult(self.found is None, self.found, self.name)

    def close(self) -> None:
        pass


class BuiltinScanner(StreamScanner):
    """Signature search over a stream of chunks, with no external dependency."""

    name = "builtin"

    def start(self) -> _BuiltinSession:
        return _BuiltinSession(self.name)


@lru_cache(maxsize=1)
def _local_scanner() -> Scanner:
    try:
        from hokan.scanning.yara_scanner import YaraScanner

        return YaraScanner()
    except ImportError:  # yara-python missing on this platform: the pure-Python fallback
        return BuiltinScanner()


def default_scanner(settings: Settings | None = None) -> Scanner:
    """ClamAV when ``HOKAN_CLAMD_ADDRESS`` is set, otherwise the built-in YARA rules."""
    if settings is not None and settings.clamd_address:
        from hokan.scanning.clamd import ClamdScanner

        return ClamdScanner(settings.clamd_address, settings.clamd_timeout_seconds)
    return _local_scanner()
