"""The built-in scanner: Hokan's YARA rules (``scanning/rules/*.yar``) over a stream.

YARA matches a buffer, so the stream is scanned in windows of ``WINDOW`` bytes
that overlap by ``OVERLAP`` bytes (longer than any rule's string): a signature
cut by a window boundary is still whole in the next window. Rules about the
file's start see the ``at_start`` external; what the first bytes say about the
whole file (ZIP, PDF, OLE2) is passed to every window.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yara

from hokan.scanning.scanner import ScannerUnavailable, ScanResult, StreamScanner

RULES_DIR = Path(__file__).parent / "rules"
WINDOW = 1024 * 1024
OVERLAP = 4096
_EXTERNALS = {"at_start": False, "zip_file": False, "pdf_file": False, "ole_file": False}


@lru_cache(maxsize=4)
def compiled_rules(folder: Path = RULES_DIR) -> Any:
    sources = {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yar"))}
    return yara.compile(sources=sources, externals=_EXTERNALS)


class _YaraSession:
    def __init__(self, rules: Any, name: str) -> None:
        self.rules = rules
        self.name = name
        self.found: str | None = None
        self._buffer = bytearray()
        self._externals: dict[str, bool] | None = None
        self._at_start = True

    def _kinds(self, head: bytes) -> dict[str, bool]:
        return {
            "zip_file": head.startswith(b"PK\x03\x04"),
            "pdf_file": b"%PDF-" in head[:1024],
            "ole_file": head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
        }

    def _match(self, window: bytes) -> None:
        if self._externals is None:
            self._externals = self._kinds(window)
        externals = {**self._externals, "at_start": self._at_start}
        try:
            matches = self.rules.match(data=window, externals=externals, timeout=60)
        except yara.Error:  # a timeout or an internal error: no verdict, fail closed
            raise ScannerUnavailable("the YARA scan did not complete") from None
        self._at_start = False
        if matches:
            first = sorted(matches, key=lambda m: m.rule)[0]
            self.found = str(first.meta.get("signature", first.rule))

    def feed(self, chunk: bytes) -> None:
        if self.found is not None or not chunk:
            return
        self._buffer += chunk
        while len(self._buffer) >= WINDOW and self.found is None:
            window = bytes(self._buffer[:WINDOW])
            self._match(window)
            del self._buffer[: WINDOW - OVERLAP]

    def finish(self) -> ScanResult:
        if self.found is None and (self._buffer or self._at_start):
            self._match(bytes(self._buffer))
        return ScanResult(self.found is None, self.found, self.name)

    def close(self) -> None:
        self._buffer = bytearray()


class YaraScanner(StreamScanner):
    name = "yara"

    def __init__(self, rules_dir: Path = RULES_DIR) -> None:
        self.rules = compiled_rules(rules_dir)

    def start(self) -> _YaraSession:
        return _YaraSession(self.rules, self.name)
