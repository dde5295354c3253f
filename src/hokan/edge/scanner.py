"""Malware scanning of uploaded files (EDGE-6): one interface, pluggable scanners.

Every upload (record attachments, the vault's identity documents) goes through
:func:`default_scanner` before it is accepted. The built-in scanner is the
embedded default; the WAF/IPS issue adds YARA rules and ClamAV's daemon behind
the same :class:`Scanner` protocol.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

# The EICAR anti-virus test file (a standard, harmless test signature), split so
# that this source file itself is not flagged by scanners.
_EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

# Executable headers that have no place in a business document upload.
_EXECUTABLE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "Executable.Win.PE"),
    (b"\x7fELF", "Executable.Unix.ELF"),
    (b"\xcf\xfa\xed\xfe", "Executable.Mac.MachO"),
    (b"\xca\xfe\xba\xbe", "Executable.Mac.MachO"),
)


@dataclass(frozen=True, slots=True)
class ScanResult:
    clean: bool
    signature: str | None = None  # the matched signature's name, never file content
    scanner: str = "builtin"


class Scanner(Protocol):
    name: str

    def scan(self, chunks: Iterable[bytes]) -> ScanResult: ...


class BuiltinScanner:
    """Signature search over a stream of chunks, with no external dependency."""

    name = "builtin"

    def scan(self, chunks: Iterable[bytes]) -> ScanResult:
        tail = b""
        first = True
        keep = len(_EICAR) - 1
        for chunk in chunks:
            if not chunk:
                continue
            if first:
                first = False
                for magic, signature in _EXECUTABLE_MAGIC:
                    if chunk.startswith(magic):
                        return ScanResult(False, signature, self.name)
            window = tail + chunk
            if _EICAR in window:
                return ScanResult(False, "EICAR-Test-File", self.name)
            tail = window[-keep:]
        return ScanResult(True, None, self.name)


def default_scanner() -> Scanner:
    return BuiltinScanner()
