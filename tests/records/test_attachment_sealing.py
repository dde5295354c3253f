"""REC-5: chunked sealing detects tampering, truncation, reordering and misplacement."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hokan.kit import crypto
from hokan.records.attachments.sealing import (
    CHUNK_BYTES,
    MAGIC,
    BlobCorrupt,
    open_stream,
    seal_stream,
)

KEY = crypto.random_key()
CTX = {"tenant": "t", "record": "r", "attachment": "a"}


def _frames(blob: bytes) -> list[bytes]:
    out, i = [], len(MAGIC)
    while i < len(blob):
        n = int.from_bytes(blob[i : i + 4], "big")
        out.append(blob[i : i + 4 + n])
        i += 4 + n
    return out


def _open(blob: bytes, ctx: dict[str, str] = CTX) -> bytes:
    return b"".join(open_stream(KEY, ctx, [blob]))


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=3 * CHUNK_BYTES + 10), st.integers(min_value=1, max_value=70_000))
def test_round_trip_whatever_the_input_chunking(data: bytes, cut: int) -> None:
    pieces = [data[i : i + cut] for i in range(0, len(data), cut)]
    blob = b"".join(seal_stream(KEY, CTX, pieces))
    assert (
        b"".join(open_stream(KEY, CTX, [blob[i : i + 999] for i in range(0, len(blob), 999)]))
        == data
    )


def test_truncation_reordering_and_misplacement_fail() -> None:
    data = bytes(range(256)) * 1024  # four chunks
    blob = b"".join(seal_stream(KEY, CTX, [data]))
    frames = _frames(blob)
    assert len(frames) == 4
    with pytest.raises(BlobCorrupt):  # dropped last frame (at a frame boundary)
        _open(MAGIC + b"".join(frames[:-1]))
    with pytest.raises(BlobCorrupt):  # swapped frames
        _open(MAGIC + frames[1] + frames[0] + frames[2] + frames[3])
    with pytest.raises(BlobCorrupt):  # a frame repeated after the end
        _open(blob + frames[3])
    with pytest.raises(BlobCorrupt):  # another attachment's context
        _open(blob, {**CTX, "attachment": "b"})
    flag_flipped = bytearray(frames[2])
    flag_flipped[4] = 1
    with pytest.raises(BlobCorrupt):  # the final flag set on the third frame
        _open(MAGIC + frames[0] + frames[1] + bytes(flag_flipped))
    with pytest.raises(BlobCorrupt):
        _open(b"")
    assert _open(blob) == data


def test_empty_file_has_one_final_frame() -> None:
    blob = b"".join(seal_stream(KEY, CTX, []))
    assert len(_frames(blob)) == 1
    assert _open(blob) == b""
