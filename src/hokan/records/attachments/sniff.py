"""What an upload really is, from its first bytes, against an allow-list (REC-4).

The declared type (the part's or the request's ``Content-Type``) is only a
claim: the sniffed type decides, and a claim that disagrees is refused so a
disguised file never reaches a client that trusts the stored type.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from hokan.records.errors import AttachmentTypeMismatch, AttachmentTypeNotAllowed

SNIFF_BYTES = 64 * 1024

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
UNKNOWN = "application/octet-stream"
TEXT_TYPES = frozenset({"text/plain", "text/csv"})
ALLOWED = frozenset(
    {"application/pdf", "image/jpeg", "image/png", "image/gif", "image/tiff", DOCX, XLSX, PPTX}
    | TEXT_TYPES
)
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
    # What Windows browsers declare for a .csv file.
    "application/vnd.ms-excel": "text/csv",
    "application/csv": "text/csv",
}
_UNDECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
_OOXML = ((b"word/", DOCX), (b"xl/", XLSX), (b"ppt/", PPTX))


@dataclass(frozen=True, slots=True)
class Sniffed:
    content_type: str  # what is stored and served, e.g. "text/csv; charset=shift_jis"
    media_type: str  # without parameters


def normalise(declared: str | None) -> str:
    media = (declared or "").split(";")[0].strip().lower()
    return _ALIASES.get(media, media)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # text has tabs and newlines, not these


def _text_charset(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    for charset in ("utf-8", "cp932"):
        decoder = codecs.getincrementaldecoder(charset)()
        try:
            text = decoder.decode(head, final=False)  # a character cut at the end is fine
        except UnicodeDecodeError:
            continue
        if _CONTROL.search(text):
            return None  # binary that happens to decode
        return "utf-8" if charset == "utf-8" else "shift_jis"
    return None


def detect(head: bytes) -> str | None:
    """The allow-listed media type of a file starting with ``head``, or None."""
    for magic, media in _MAGIC:
        if head.startswith(magic):
            return media
    if head.startswith(b"PK\x03\x04"):
        if b"[Content_Types].xml" not in head:
            return None
        for marker, media in _OOXML:
            if marker in head:
                return media
        return None
    if head and _text_charset(head) is not None:
        return "text/plain"
    return None


def check(head: bytes, declared: str | None) -> Sniffed:
    """Sniff ``head`` and reconcile it with the declared type, or refuse (415)."""
    claim = normalise(declared)
    if claim not in _UNDECLARED and claim not in ALLOWED:
        raise AttachmentTypeNotAllowed("declared")
    found = detect(head)
    if found is None:
        raise AttachmentTypeNotAllowed("content")
    if found == "text/plain":
        if claim not in _UNDECLARED and claim not in TEXT_TYPES:
            raise AttachmentTypeMismatch("found", found="text/plain")
        media = claim if claim in TEXT_TYPES else "text/plain"
        return Sniffed(f"{media}; charset={_text_charset(head)}", media)
    if claim not in _UNDECLARED and claim != found:
        raise AttachmentTypeMismatch("found", found=found)
    return Sniffed(found, found)
