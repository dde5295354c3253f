"""Request bodies: per-route limits and bounded reading (stop at the limit, 413,
instead of buffering it all), and the one JSON parser every route uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from fastapi import Request

from hokan.httpkit.routes import matched_route
from hokan.kit.errors import InvalidPayload, PayloadTooLarge, UnsupportedMediaType

if TYPE_CHECKING:
    from hokan.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])
BODY_LIMIT_ATTRIBUTE = "__hokan_body_limit__"
DEFAULT_LIMIT_SETTING = "ips_max_body_bytes"


class InvalidJson(InvalidPayload):
    code = "invalid_json"
    message_ja = "JSONとして解釈できません。"
    message_en = "The body is not valid JSON."


JSON_TYPES = frozenset({"application/json", "application/merge-patch+json"})


def body_limit(setting: str, *, overhead: int = 0) -> Callable[[F], F]:
    """Declare the settings field holding this route's body limit (plus ``overhead``
    bytes of framing, e.g. multipart headers). Place it under ``@router.<method>``."""

    def mark(fn: F) -> F:
        setattr(fn, BODY_LIMIT_ATTRIBUTE, (setting, overhead))
        return fn

    return mark


def limit_setting(endpoint: Any) -> str:
    """The settings field an endpoint's body limit comes from."""
    declared = getattr(endpoint, BODY_LIMIT_ATTRIBUTE, None)
    return declared[0] if declared else DEFAULT_LIMIT_SETTING


def limit_for(endpoint: Any, settings: Settings) -> int:
    """The body limit of ``endpoint`` (None: no route matched) in bytes."""
    setting, overhead = getattr(endpoint, BODY_LIMIT_ATTRIBUTE, (DEFAULT_LIMIT_SETTING, 0))
    return int(getattr(settings, setting)) + overhead


def route_body_limit(scope: Mapping[str, Any], settings: Settings) -> int:
    """The body limit of the route a request (scope) will reach, before routing."""
    return limit_for(getattr(matched_route(scope), "endpoint", None), settings)


def declared_body_limit(request: Request) -> int:
    """The body limit of the route handling ``request``."""
    return limit_for(request.scope.get("endpoint"), request.app.state.runtime.settings)


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The whole body, refused (413) past ``limit`` (default: the route's limit)."""
    limit = declared_body_limit(request) if limit is None else limit
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("limit", limit=limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("limit", limit=limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # read once: FastAPI and Starlette find it here
    return body


async def read_json(
    request: Request,
    limit: int | None = None,
    accept: frozenset[str] = JSON_TYPES,
    *,
    allow_empty: bool = False,
) -> Any:
    """The body parsed as JSON (orjson: strict UTF-8, nesting bounded), or a clear error."""
    media_type = (
        request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    )
    if media_type not in accept:
        raise UnsupportedMediaType("accepted", accepted=", ".join(sorted(accept)))
    raw = await read_body(request, limit)
    if allow_empty and not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidJson from None
