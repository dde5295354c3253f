"""Bounded request-body reading: stop at the limit (413) instead of buffering it all."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from hokan.kit.errors import InvalidPayload, PayloadTooLarge, UnsupportedMediaType


class InvalidJson(InvalidPayload):
    code = "invalid_json"
    message_ja = "JSONとして解釈できません。"
    message_en = "The body is not valid JSON."


JSON_TYPES = frozenset({"application/json", "application/merge-patch+json"})


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int, accept: frozenset[str] = JSON_TYPES) -> Any:
    media_type = (
        request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    )
    if media_type not in accept:
        raise UnsupportedMediaType(f"send one of: {', '.join(sorted(accept))}")
    raw = await read_body(request, limit)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidJson from None
