"""Chunked AES-256-GCM for streamed objects (REC-5).

A blob is ``MAGIC`` then frames of ``4-byte length || final flag || nonce ||
ciphertext+tag``.
Each frame's associated data binds the object's context, the chunk index and
whether it is the last chunk, so a reordered, repeated, swapped or truncated
blob fails to open: truncation at a frame boundary is caught because no frame
marked final was seen.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hokan.kit import crypto

MAGIC = b"HKB1"
CHUNK_BYTES = 64 * 1024
_TAG = 16
_NONCE = crypto.NONCE_BYTES
_MAX_FRAME = CHUNK_BYTES + _NONCE + _TAG


class BlobCorrupt(Exception):
    """The stored blob does not open: tampered, truncated, reordered or misplaced."""

    def __repr__(self) -> str:
        return "BlobCorrupt()"


def rechunk(source: Iterable[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Re-cut a stream into ``size``-byte chunks (the last may be shorter)."""
    buffer = bytearray()
    for piece in source:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def _aad(context: Mapping[str, str | int], index: int, final: bool) -> bytes:
    return crypto.aad("blob-chunk", {**context, "~index": index, "~final": int(final)})


def seal_stream(
    key: bytes, context: Mapping[str, str | int], plaintext: Iterable[bytes]
) -> Iterator[bytes]:
    """Encrypt a stream chunk by chunk, holding one chunk back to mark the last one final."""
    aead = AESGCM(key)
    yield MAGIC
    index = 0
    previous: bytes | None = None
    for chunk in rechunk(plaintext):
        if previous is not None:
            yield _frame(aead, context, index, False, previous)
            index += 1
        previous = chunk
    yield _frame(aead, context, index, True, previous or b"")


def _frame(
    aead: AESGCM, context: Mapping[str, str | int], index: int, final: bool, chunk: bytes
) -> bytes:
    nonce = os.urandom(_NONCE)
    body = bytes([final]) + nonce + aead.encrypt(nonce, chunk, _aad(context, index, final))
    return len(body).to_bytes(4, "big") + body


def open_stream(
    key: bytes, context: Mapping[str, str | int], stored: Iterable[bytes]
) -> Iterator[bytes]:
    """Decrypt a stream made by :func:`seal_stream`; raises :class:`BlobCorrupt`."""
    aead = AESGCM(key)
    buffer = bytearray()
    source = iter(stored)
    header_seen = False
    index = 0
    final_seen = False

    def fill(n: int) -> bool:
        while len(buffer) < n:
            try:
                buffer.extend(next(source))
            except StopIteration:
                return False
        return True

    while True:
        if not header_seen:
            if not fill(len(MAGIC)) or bytes(buffer[: len(MAGIC)]) != MAGIC:
                raise BlobCorrupt
            del buffer[: len(MAGIC)]
            header_seen = True
        if not fill(4):
            if buffer or not final_seen:
                raise BlobCorrupt  # truncated
            return
        if final_seen:
            raise BlobCorrupt  # data after the final frame
        length = int.from_bytes(buffer[:4], "big")
        if length < 1 + _NONCE + _TAG or length > 1 + _MAX_FRAME or not fill(4 + length):
            raise BlobCorrupt
        frame = bytes(buffer[4 : 4 + length])
        del buffer[: 4 + length]
        chunk, final_seen = _open_frame(aead, context, index, frame)
        index += 1
        yield chunk


def _open_frame(
    aead: AESGCM, context: Mapping[str, str | int], index: int, frame: bytes
) -> tuple[bytes, bool]:
    if frame[0] not in (0, 1):
        raise BlobCorrupt
    final = frame[0] == 1  # authenticated: a flipped flag changes the associated data
    nonce, body = frame[1 : 1 + _NONCE], frame[1 + _NONCE :]
    try:
        return aead.decrypt(nonce, body, _aad(context, index, final)), final
    except InvalidTag:
        raise BlobCorrupt from None


class Digest:
    """SHA-256 and size of the bytes passing through a stream."""

    def __init__(self) -> None:
        self._hash: Any = hashlib.sha256()
        self.size = 0

    def through(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self._hash.update(chunk)
            self.size += len(chunk)
            yield chunk

    def hexdigest(self) -> str:
        return str(self._hash.hexdigest())
