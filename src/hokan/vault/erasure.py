"""A systematic k-of-n Reed-Solomon erasure code over GF(2^8) (ADR 0007).

The data is cut into k equal shards (the last zero-padded); fragments 0..k-1
are the shards, fragments k..n-1 are parity rows of a Cauchy matrix, so the
generator matrix [I; C] is MDS: any k fragments rebuild the data, fewer than
k cannot. Secrecy is the encryption's job, done before the split. Field: polynomial 0x11d,
generator 2 (the one of most storage RS codes).

Speed comes from bytes.translate: multiplying a whole shard by a constant is a
256-byte lookup table applied in C, and adding shards is one big-integer XOR.
Nothing here encrypts: callers encrypt first, then split (MYN-3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

_POLY = 0x11D
MAX_N = 255

_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= _POLY
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def gf_inv(a: int) -> int:
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(256)")
    return _EXP[255 - _LOG[a]]


@lru_cache(maxsize=256)
def _mul_table(c: int) -> bytes:
    return bytes(gf_mul(c, v) for v in range(256))


def _scale(c: int, shard: bytes) -> int:
    """c · shard as a little-endian integer (so that XOR adds in GF(256))."""
    if c == 0:
        return 0
    data = shard if c == 1 else shard.translate(_mul_table(c))
    return int.from_bytes(data, "little")


def _combine(row: Sequence[int], shards: Sequence[bytes], length: int) -> bytes:
    acc = 0
    for c, shard in zip(row, shards, strict=True):
        acc ^= _scale(c, shard)
    return acc.to_bytes(length, "little")


@lru_cache(maxsize=64)
def generator(k: int, n: int) -> tuple[tuple[int, ...], ...]:
    """Rows of the n×k generator matrix: identity, then Cauchy 1/(x_i + y_j)."""
    if not 1 <= k <= n <= MAX_N:
        raise ValueError("need 1 <= k <= n <= 255")
    rows = [tuple(1 if i == j else 0 for j in range(k)) for i in range(k)]
    # x_i = k + i and y_j = j are distinct elements, so x_i + y_j (XOR) is never 0.
    rows += [tuple(gf_inv((k + i) ^ j) for j in range(k)) for i in range(n - k)]
    return tuple(rows)


def _invert(matrix: list[list[int]]) -> list[list[int]]:
    size = len(matrix)
    aug = [row[:] + [1 if i == j else 0 for j in range(size)] for i, row in enumerate(matrix)]
    for col in range(size):
        pivot = next((r for r in range(col, size) if aug[r][col]), None)
        if pivot is None:
            raise ValueError("singular matrix")  # impossible for an MDS generator
        aug[col], aug[pivot] = aug[pivot], aug[col]
        inv = gf_inv(aug[col][col])
        aug[col] = [gf_mul(inv, v) for v in aug[col]]
        for r in range(size):
            if r != col and aug[r][col]:
                f = aug[r][col]
                aug[r] = [v ^ gf_mul(f, p) for v, p in zip(aug[r], aug[col], strict=True)]
    return [row[size:] for row in aug]


def shard_length(size: int, k: int) -> int:
    return max(1, -(-size // k))


def encode(data: bytes, k: int, n: int) -> list[bytes]:
    """n fragments of ``shard_length(len(data), k)`` bytes each."""
    rows = generator(k, n)
    length = shard_length(len(data), k)
    # Slice first and pad only the last shard: no padded copy of the whole payload.
    shards = [data[i * length : (i + 1) * length].ljust(length, b"\x00") for i in range(k)]
    return shards + [_combine(rows[r], shards, length) for r in range(k, n)]


def decode(fragments: Mapping[int, bytes], k: int, n: int, size: int) -> bytes:
    """The original ``size`` bytes from any k fragments (index → fragment)."""
    if len(fragments) < k:
        raise ValueError(f"need {k} fragments, have {len(fragments)}")
    chosen = sorted(fragments)[:k]
    length = shard_length(size, k)
    picked = [fragments[i] for i in chosen]
    if any(len(f) != length for f in picked):
        raise ValueError("fragment of the wrong length")
    if chosen == list(range(k)):
        return b"".join(picked)[:size]
    rows = generator(k, n)
    inverse = _invert([list(rows[i]) for i in chosen])
    shards = [_combine(inverse[j], picked, length) for j in range(k)]
    return b"".join(shards)[:size]
