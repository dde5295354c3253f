"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from hokan.kit.errors import BadRequest


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    message_ja = "カーソルが正しくありません。"
    message_en = "The cursor is not valid."


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError):
        raise InvalidCursor from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidCursor
    return values
