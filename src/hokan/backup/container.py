"""The backup container: a file as a sequence of sealed chunks, streamed both ways.

One file of a generation is a sequence of records::

    magic "HKB1" | generation tag (16) | chunk index (u32) | flags (u8) | length (u32)
    | nonce (12) | AES-256-GCM ciphertext + tag of zstd(plaintext chunk)

Each chunk's associated data is the generation, the file name, the chunk index and
the final flag, so a chunk flipped, dropped, moved, copied in from another
generation or cut off at the end never opens as the chunk expected there. The clear
header only lets the reader say *which* of these happened; it is never trusted
without the authenticated copy. Nothing holds more than one chunk in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hokan.backup import errors
from hokan.kit import crypto

MAGIC = b"HKB1"
HEADER = struct.Struct(">4s16sIBI")
NONCE = 12
TAG = 16
FINAL = 0x01
DEFAULT_CHUNK = 4 * 1024 * 1024
WORKERS = 2
# A record can never be longer than its chunk compressed at worst, plus the tag.
_MAX_RECORD = 256 * 1024 * 1024


def generation_tag(generation: str) -> bytes:
    return hashlib.sha256(b"hokan-backup-generation\x00" + generation.encode()).digest()[:16]


def chunk_aad(generation: str, name: str, index: int, final: bool) -> bytes:
    fields: dict[str, str | int] = {
        "generation": generation,
        "file": name,
        "index": index,
        "final": int(final),
    }
    return crypto.aad("backup-chunk", fields)


@dataclass
class FileEntry:
    """What the manifest says of one file of a generation."""

    name: str
    size: int = 0  # stored bytes
    plain_size: int = 0
    sha256: str = ""
    chunks: list[str] = field(default_factory=list)  # SHA-256 of each stored record
    key: str = "data"  # which data key seals it: "data" or "keyring"
    meta: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "plain_size": self.plain_size,
            "sha256": self.sha256,
            "chunks": self.chunks,
            "key": self.key,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileEntry:
        return cls(
            name=str(data["name"]),
            size=int(data["size"]),
            plain_size=int(data["plain_size"]),
            sha256=str(data["sha256"]),
            chunks=[str(c) for c in data["chunks"]],
            key=str(data.get("key", "data")),
            meta=dict(data.get("meta") or {}),
        )


def rechunk(source: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The stream cut into pieces of exactly ``size`` bytes (the last one shorter); each
    byte is copied once at most (pieces are gathered, then joined)."""
    parts: list[bytes] = []
    held = 0
    for piece in source:
        if not parts and len(piece) == size:
            yield piece
            continue
        parts.append(piece)
        held += len(piece)
        if held >= size:
            joined = b"".join(parts)
            at = 0
            while held - at >= size:
                yield joined[at : at + size]
                at += size
            parts = [joined[at:]] if at < held else []
            held -= at
    if held:
        yield b"".join(parts)


def _lookahead(pieces: Iterator[bytes]) -> Iterator[tuple[int, bytes, bool]]:
    """(index, piece, final) — the final flag needs to know the stream ended; an empty
    stream is one empty final chunk."""
    current: bytes | None = next(pieces, b"")
    index = 0
    while current is not None:
        following = next(pieces, None)
        yield index, current, following is None
        current, index = following, index + 1


_local = threading.local()


def _compressor(level: int) -> zstandard.ZstdCompressor:
    found: zstandard.ZstdCompressor | None = getattr(_local, f"c{level}", None)
    if found is None:
        found = zstandard.ZstdCompressor(level=level)
        setattr(_local, f"c{level}", found)
    return found


def _seal_one(
    aead: AESGCM, level: int, generation: str, name: str, index: int, piece: bytes, final: bool
) -> tuple[bytes, str]:
    nonce = os.urandom(NONCE)
    body = aead.encrypt(
        nonce, _compressor(level).compress(piece), chunk_aad(generation, name, index, final)
    )
    head = HEADER.pack(
        MAGIC, generation_tag(generation), index, FINAL if final else 0, NONCE + len(body)
    )
    record = head + nonce + body
    return record, hashlib.sha256(record).hexdigest()


def seal(
    source: Iterable[bytes],
    *,
    key: bytes,
    generation: str,
    entry: FileEntry,
    chunk_bytes: int = DEFAULT_CHUNK,
    level: int = 1,
    workers: int = WORKERS,
) -> Iterator[bytes]:
    """Encrypt ``source`` as records, filling ``entry`` (sizes and checksums) as it goes.

    Chunks are compressed and sealed on ``workers`` threads (zstd and SHA-256 release the
    GIL), at most ``2 × workers`` in flight: memory stays a few chunks whatever the size.
    """
    aead = AESGCM(key)
    whole = hashlib.sha256()
    pending: deque[tuple[int, Future[tuple[bytes, str]]]] = deque()

    def emit() -> bytes:
        plain, future = pending.popleft()
        record, digest = future.result()
        whole.update(record)
        entry.chunks.append(digest)
        entry.size += len(record)
        entry.plain_size += plain
        return record

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hokan-seal") as pool:
        for index, piece, final in _lookahead(rechunk(source, chunk_bytes)):
            args = (aead, level, generation, entry.name, index, piece, final)
            pending.append((len(piece), pool.submit(_seal_one, *args)))
            if len(pending) >= 2 * workers:
                yield emit()
        while pending:
            yield emit()
    entry.sha256 = whole.hexdigest()


def check_stored(stream: BinaryIO, *, generation: str, entry: FileEntry) -> None:
    """Read a just-written file back: every record's SHA-256 against the manifest's, the
    record count and nothing after the last (the bytes on the target are the bytes sealed;
    the nightly verify also decrypts). The file's own SHA-256 is not recomputed: it is a
    function of the records, each just proven (one hashing pass instead of two)."""
    for index, expected in enumerate(entry.chunks):
        header = _read_exactly(stream, HEADER.size)
        if len(header) < HEADER.size:
            raise errors.Truncated("chunk", generation=generation, file=entry.name, chunk=index)
        rest = _read_exactly(stream, HEADER.unpack(header)[4])
        digest = hashlib.sha256(header)
        digest.update(rest)
        if not _same(digest.hexdigest(), expected):
            raise errors.ChunkTampered("chunk", generation=generation, file=entry.name, chunk=index)
    if stream.read(1):
        raise errors.TrailingData(
            "chunk", generation=generation, file=entry.name, chunk=len(entry.chunks)
        )


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    left = n
    while left:
        part = stream.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _open_one(aead: AESGCM, generation: str, entry: FileEntry, index: int, record: bytes) -> bytes:
    if not _same(hashlib.sha256(record).hexdigest(), entry.chunks[index]):
        raise errors.ChunkTampered("chunk", generation=generation, file=entry.name, chunk=index)
    final = bool(record[HEADER.size - 5] & FINAL)
    body = record[HEADER.size :]
    try:
        compressed = aead.decrypt(
            body[:NONCE], body[NONCE:], chunk_aad(generation, entry.name, index, final)
        )
        return zstandard.ZstdDecompressor().decompress(compressed)
    except (InvalidTag, zstandard.ZstdError):
        raise errors.ChunkTampered(
            "chunk", generation=generation, file=entry.name, chunk=index
        ) from None


def open_sealed(
    stream: BinaryIO,
    *,
    key: bytes,
    generation: str,
    entry: FileEntry,
    workers: int = WORKERS,
) -> Iterator[bytes]:
    """The plaintext of one sealed file, chunk by chunk; raises a :mod:`errors` class
    naming the generation, file and chunk at the first thing that is not as sealed.

    Each record's SHA-256 must be the (signed) manifest's and its GCM tag must open under
    this generation, file, index and final flag; chunks open on ``workers`` threads."""
    aead = AESGCM(key)
    tag = generation_tag(generation)
    expected = len(entry.chunks)
    pending: deque[Future[bytes]] = deque()

    def where(i: int) -> dict[str, Any]:
        return {"generation": generation, "file": entry.name, "chunk": i}

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hokan-open") as pool:
        index = 0
        while True:
            header = _read_exactly(stream, HEADER.size)
            if len(header) < HEADER.size:
                while pending:  # an earlier chunk's own failure comes first
                    pending.popleft().result()
                raise errors.Truncated("chunk", **where(index))
            magic, their_tag, their_index, flags, length = HEADER.unpack(header)
            problem: errors.BackupError | None = None
            if magic != MAGIC or length > _MAX_RECORD or length < NONCE + TAG:
                problem = errors.ChunkTampered("chunk", **where(index))
            elif their_tag != tag:
                problem = errors.ChunkForeign("chunk", **where(index))
            elif their_index > index:
                problem = errors.ChunkMissing("chunk", **where(index))
            elif their_index < index:
                problem = errors.ChunkReordered("chunk", **where(index))
            elif index >= expected:
                problem = errors.TrailingData("chunk", **where(index))
            rest = b"" if problem else _read_exactly(stream, length)
            if not problem and len(rest) < length:
                problem = errors.Truncated("chunk", **where(index))
            if problem:
                while pending:
                    pending.popleft().result()
                raise problem
            pending.append(pool.submit(_open_one, aead, generation, entry, index, header + rest))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
            index += 1
            if flags & FINAL:
                break
        while pending:
            yield pending.popleft().result()
    if stream.read(1):
        raise errors.TrailingData("chunk", **where(index))
    if index != expected:
        raise errors.Truncated("chunk", **where(index))


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def wrap_key(wrapping: bytes, data_key: bytes, generation: str, purpose: str) -> bytes:
    return crypto.encrypt(wrapping, data_key, key_aad(generation, purpose))


def key_aad(generation: str, purpose: str) -> bytes:
    return crypto.aad("backup-data-key", {"generation": generation, "purpose": purpose})


def unwrap_key(wrapping: bytes, wrapped: bytes, generation: str, purpose: str) -> bytes:
    try:
        return crypto.decrypt(wrapping, wrapped, key_aad(generation, purpose))
    except crypto.DecryptionError:
        raise errors.WrongKey("generation", generation=generation) from None


class Unpacker:
    """Reads a pack (many named files in one stream) back from plaintext chunks.

    The current chunk is consumed from an offset (no growing buffer): a member's body is
    yielded as slices of the chunks — one copy each, none when a slice is a whole chunk."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._piece = b""
        self._at = 0

    def _available(self) -> int:
        while self._at >= len(self._piece):
            piece = next(self._chunks, None)
            if piece is None:
                return 0
            self._piece, self._at = piece, 0
        return len(self._piece) - self._at

    def _take(self, n: int) -> bytes:
        """At most ``n`` bytes of the current chunk (the chunk itself when it is all)."""
        available = self._available()
        if not available:
            raise ValueError("pack truncated")
        take = min(n, available)
        if self._at == 0 and take == len(self._piece):
            out = self._piece
        else:
            out = self._piece[self._at : self._at + take]
        self._at += take
        return out

    def read(self, n: int) -> bytes:
        parts: list[bytes] = []
        left = n
        while left:
            part = self._take(left)
            parts.append(part)
            left -= len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def members(self) -> Iterator[tuple[str, int, Iterator[bytes]]]:
        while self._available():
            magic, name_len = struct.unpack(">4sH", self.read(6))
            if magic != _PACK:
                raise ValueError("not a pack")
            name = self.read(name_len).decode()
            (size,) = struct.unpack(">Q", self.read(8))
            body = self._body(size)
            yield name, size, body
            for _ in body:  # drain what the caller did not read
                pass

    def _body(self, size: int) -> Iterator[bytes]:
        left = size
        while left:
            part = self._take(left)
            left -= len(part)
            yield part


_PACK = b"HKBF"


def pack(members: Iterable[tuple[str, int, Iterable[bytes]]]) -> Iterator[bytes]:
    """Many named streams as one: ``HKBF | name length | name | size (u64) | bytes``."""
    for name, size, body in members:
        raw = name.encode()
        yield struct.pack(">4sH", _PACK, len(raw)) + raw + struct.pack(">Q", size)
        written = 0
        for piece in body:
            written += len(piece)
            yield piece
        if written != size:
            raise ValueError("member changed size while packed")
