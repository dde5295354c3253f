"""REC-4: uploads are parsed as streams, names made safe, types sniffed from content."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hokan.kit.errors import PayloadTooLarge
from hokan.records.attachments import sniff
from hokan.records.attachments.upload import from_request, safe_filename
from hokan.records.errors import AttachmentTypeMismatch, AttachmentTypeNotAllowed, InvalidUpload

BOUNDARY = "hokanBoundary7MA4YWxk"
CTYPE = f"multipart/form-data; boundary={BOUNDARY}"


def _multipart(content: bytes, disposition: str, part_type: str = "application/pdf") -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="note"\r\n\r\n'
            "先に来るフィールド\r\n"
            f"--{BOUNDARY}\r\n"
            f"Content-Disposition: {disposition}\r\n"
            f"Content-Type: {part_type}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


class Source:
    """A request body arriving in pieces; counts how much has been pulled."""

    def __init__(self, body: bytes, size: int = 1000) -> None:
        self.pieces = [body[i : i + size] for i in range(0, len(body), size)]
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.pulled += 1
            yield piece


def test_multipart_streams_the_file_part_only() -> None:
    content = b"%PDF-1.7\n" + b"x" * 50_000
    source = Source(
        _multipart(content, "form-data; name=\"file\"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf")
    )
    upload = from_request(iter(source), CTYPE, None, None, 1_000_000)
    assert upload.filename == "報告.pdf"
    assert upload.declared_type == "application/pdf"
    first = next(upload.chunks)
    assert content.startswith(first)
    assert source.pulled < len(source.pieces) / 2  # the rest is not read yet: no buffering
    assert first + b"".join(upload.chunks) == content


def test_multipart_limits_and_malformed_bodies() -> None:
    body = _multipart(b"a" * 5000, 'form-data; name="file"; filename="a.txt"', "text/plain")
    upload = from_request(iter(Source(body)), CTYPE, None, None, 4096)
    with pytest.raises(PayloadTooLarge):
        b"".join(upload.chunks)
    with pytest.raises(InvalidUpload):  # no file part
        from_request(
            iter(Source(body.replace(b'name="file"', b'name="other"'))), CTYPE, None, None, 10_000
        )
    truncated = body[: len(body) // 2]
    upload = from_request(iter(Source(truncated)), CTYPE, None, None, 10_000)
    with pytest.raises(InvalidUpload):
        b"".join(upload.chunks)
    with pytest.raises(InvalidUpload):
        from_request(iter([b"x"]), "multipart/form-data", None, None, 10)


def test_raw_body_names_from_query_or_disposition() -> None:
    raw = from_request(
        iter([b"a,b\n"]),
        "text/csv",
        "attachment; filename*=UTF-8''%E5%90%8D%E7%B0%BF.csv",
        None,
        100,
    )
    assert (raw.filename, raw.declared_type) == ("名簿.csv", "text/csv")
    assert from_request(iter([b""]), None, None, "x.csv", 100).filename == "x.csv"
    assert from_request(iter([b""]), None, None, None, 100).filename == "attachment"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\yamada\\報告書.pdf", "報告書.pdf"),
        ("a\x00b\r\nc.txt", "a_b__c.txt"),
        ("ｶﾞｲﾄﾞ.pdf", "ｶﾞｲﾄﾞ.pdf"),
        ("..", "attachment"),
        ("x" * 300 + ".pdf", "x" * 255),
        # bidi controls (right-to-left override, isolates, marks) and zero-width
        # characters are dropped: "\u202etxt.exe" would display as "exe.txt"
        ("report\u202etxt.exe", "reporttxt.exe"),
        ("\u2067a\u2069\u200f\u200b.pdf", "a.pdf"),
    ],
)
def test_safe_filenames(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe


DOCX_HEAD = (
    b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml" + b"\x00" * 40 + b"word/document.xml"
)
XLSX_HEAD = (
    b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml" + b"\x00" * 40 + b"xl/workbook.xml"
)


@pytest.mark.parametrize(
    ("head", "declared", "stored"),
    [
        (DOCX_HEAD, sniff.DOCX, sniff.DOCX),
        (XLSX_HEAD, None, sniff.XLSX),
        (b"GIF89a....", "image/gif", "image/gif"),
        (b"II*\x00....", "image/tiff", "image/tiff"),
        (b"\xff\xd8\xff\xe0....", "image/jpg", "image/jpeg"),
        ("東京都千代田区".encode(), "text/plain", "text/plain; charset=utf-8"),
        ("東京都千代田区".encode("cp932"), "text/csv", "text/csv; charset=shift_jis"),
        ("東京都".encode()[:-1], None, "text/plain; charset=utf-8"),  # cut mid-character
    ],
)
def test_sniffing_accepts(head: bytes, declared: str | None, stored: str) -> None:
    assert sniff.check(head, declared).content_type == stored


def test_sniffing_refuses() -> None:
    with pytest.raises(AttachmentTypeMismatch):
        sniff.check(XLSX_HEAD, sniff.DOCX)
    with pytest.raises(AttachmentTypeMismatch):
        sniff.check(b"plain words", "application/pdf")
    with pytest.raises(AttachmentTypeNotAllowed):
        sniff.check(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1legacy office", None)
    with pytest.raises(AttachmentTypeNotAllowed):
        sniff.check(b"<svg onload=alert(1)>", "image/svg+xml")
    with pytest.raises(AttachmentTypeNotAllowed):
        sniff.check(b"", None)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=20_000), st.integers(min_value=1, max_value=5000))
def test_multipart_returns_the_exact_file_whatever_the_arrival(content: bytes, size: int) -> None:
    body = _multipart(content, 'form-data; name="file"; filename="f.bin"')
    upload = from_request(iter(Source(body, size)), CTYPE, None, None, 1_000_000)
    assert b"".join(upload.chunks) == content
