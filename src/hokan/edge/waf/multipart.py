"""Incremental multipart reading for the WAF: part headers and small fields, never file content.

Fed chunk by chunk as the body streams to the application, it yields each
part's field name, file name and (for non-file parts, up to a limit) value.
File content is skipped with one ``find`` per chunk, keeping only a tail as
long as the boundary, so a large upload costs no buffering (the malware
scanner reads the content).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from hokan.edge.waf.extract import Field, safe_name

MAX_PART_HEADERS = 16_384
_DISPOSITION = re.compile(r"""(?i)\b(name|filename\*?)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))""")


def boundary_of(content_type: str) -> bytes | None:
    m = re.search(r"""(?i)boundary\s*=\s*(?:"([^"]{1,200})"|([^;\s]{1,200}))""", content_type)
    if not m:
        return None
    return (m.group(1) or m.group(2)).encode("latin-1", "replace")


class MultipartScanner:
    def __init__(self, boundary: bytes, max_field_bytes: int) -> None:
        self.delimiter = b"\r\n--" + boundary
        self.max_field = max_field_bytes
        self.buf = bytearray(b"\r\n")  # the first boundary has no CRLF before it
        self.state = "preamble"
        self.is_file = False
        self.name = ""
        self.value = bytearray()
        self.malformed = False

    def feed(self, chunk: bytes) -> Iterator[Field]:
        self.buf += chunk
        while True:
            if self.state in ("preamble", "body"):
                at = self.buf.find(self.delimiter)
                if at < 0:
                    keep = len(self.delimiter) + 4
                    if self.state == "body" and not self.is_file:
                        self._collect(bytes(self.buf[:-keep]) if len(self.buf) > keep else b"")
                    if len(self.buf) > keep:
                        del self.buf[:-keep]
                    return
                if self.state == "body" and not self.is_file:
                    self._collect(bytes(self.buf[:at]))
                    yield Field(
                        safe_name("multipart", self.name), self.value.decode("utf-8", "replace")
                    )
                del self.buf[: at + len(self.delimiter)]
                self.state = "after-boundary"
            if self.state == "after-boundary":
                if len(self.buf) < 2:
                    return
                if self.buf[:2] == b"--":
                    self.state = "done"
                    return
                self.state = "headers"
            if self.state == "headers":
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buf) > MAX_PART_HEADERS:
                        self.malformed = True
                        self.state = "done"
                    return
                yield from self._headers(bytes(self.buf[:end]).decode("utf-8", "replace"))
                del self.buf[: end + 4]
                self.state = "body"
                self.value = bytearray()
            if self.state == "done":
                self.buf.clear()
                return

    def _collect(self, data: bytes) -> None:
        room = self.max_field - len(self.value)
        if room > 0:
            self.value += data[:room]

    def _headers(self, block: str) -> Iterator[Field]:
        self.is_file = False
        self.name = ""
        for line in block.split("\r\n"):
            header, _, value = line.partition(":")
            if header.strip().lower() != "content-disposition":
                continue
            for m in _DISPOSITION.finditer(value):
                key, text = m.group(1).lower(), m.group(2) if m.group(2) is not None else m.group(3)
                if key == "name":
                    self.name = text
                else:
                    self.is_file = True
                    yield Field(f"{safe_name('multipart', self.name or '?')}.filename", text, True)
            yield Field(f"{safe_name('multipart', self.name)}#name", self.name)
