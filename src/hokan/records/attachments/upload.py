"""An upload as a stream of file bytes: raw bodies and multipart, never buffered whole.

The request body is pulled chunk by chunk into a worker thread (where the scan,
the encryption and the blob store's writes run), through a size limit, and for
``multipart/form-data`` through a streaming parser that passes on only the
``file`` part's bytes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from anyio import from_thread
from python_multipart.multipart import MultipartParser, parse_options_header

from hokan.kit.errors import PayloadTooLarge
from hokan.records.errors import InvalidUpload

_FILENAME_STAR = re.compile(r"filename\*\s*=\s*(?:UTF-8|utf-8)''([^;\s]+)")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"\\/:*?<>|]")
MULTIPART_OVERHEAD = 64 * 1024  # headers and boundaries around the file part


@dataclass
class Upload:
    filename: str
    declared_type: str | None
    chunks: Iterator[bytes]


def safe_filename(raw: str | None) -> str:
    """The last path component, NFC, without control or reserved characters, ≤ 255 chars.

    Invisible format characters (Unicode category Cf: the bidi overrides and
    isolates, zero-width characters) are dropped: ``\u202etxt.exe`` would
    otherwise display as ``exe.txt``."""
    name = unicodedata.normalize("NFC", raw or "")
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[:255] or "attachment"


def filename_from_disposition(header: str | bytes | None) -> str | None:
    """``filename*=UTF-8''…`` (RFC 6266) first, then ``filename=``."""
    if not header:
        return None
    text = header.decode("utf-8", "replace") if isinstance(header, bytes) else header
    star = _FILENAME_STAR.search(text)
    if star:
        return unquote(star.group(1), errors="replace")
    _, options = parse_options_header(text.encode("utf-8"))
    value = options.get(b"filename")
    return value.decode("utf-8", "replace") if value is not None else None


def pull(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """Iterate an async body stream from a worker thread (``anyio.to_thread``)."""

    async def next_chunk() -> bytes:
        return await stream.__anext__()

    while True:
        try:
            chunk = from_thread.run(next_chunk)
        except StopAsyncIteration:
            return
        if chunk:
            yield chunk


def limited(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("limit", limit=limit)
        yield chunk


class _FilePart:
    """Drives the push parser from the pulled body; exposes the ``file`` part's bytes."""

    def __init__(self, raw: Iterator[bytes], boundary: bytes) -> None:
        self._raw = raw
        self._out: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self.state = "seek"  # seek -> file -> done
        self.filename: str | None = None
        self.content_type: str | None = None
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        if self.state != "seek":
            return
        disposition = self._headers.get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        if options.get(b"name") == b"file":
            self.state = "file"
            self.filename = filename_from_disposition(disposition) or ""
            ctype = self._headers.get(b"content-type")
            self.content_type = ctype.decode("latin-1") if ctype else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.state == "file":
            self._out.append(bytes(data[start:end]))

    def _part_end(self) -> None:
        if self.state == "file":
            self.state = "done"

    def _pump(self) -> bool:
        try:
            chunk = next(self._raw)
        except StopIteration:
            return False
        try:
            self._parser.write(chunk)
        except Exception:  # the parser's own errors: a malformed body
            raise InvalidUpload("malformed") from None
        return True

    def find(self) -> None:
        while self.state == "seek":
            if not self._pump():
                raise InvalidUpload("no_file")

    def chunks(self) -> Iterator[bytes]:
        while True:
            if self._out:
                out, self._out = self._out, []
                yield from out
            if self.state == "done":
                return
            if not self._pump():
                raise InvalidUpload("truncated")


def from_request(
    raw: Iterator[bytes],
    content_type: str | None,
    disposition: str | None,
    filename: str | None,
    limit: int,
) -> Upload:
    """An :class:`Upload` from a raw body (its type is the declared type) or a multipart one."""
    media, options = parse_options_header((content_type or "").encode("latin-1"))
    if media.lower() == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise InvalidUpload("no_boundary")
        part = _FilePart(limited(raw, limit + MULTIPART_OVERHEAD), boundary)
        part.find()
        return Upload(
            safe_filename(filename or part.filename),
            part.content_type,
            limited(part.chunks(), limit),
        )
    name = filename or filename_from_disposition(disposition)
    return Upload(safe_filename(name), content_type, limited(raw, limit))
