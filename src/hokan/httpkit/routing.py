"""The route class every API router uses: one JSON path, per-route body limits, and
the error responses documented on every operation.

    router = Router(prefix="/api/v1/vault", tags=["vault"])

    @router.post("/documents")
    @body_limit("vault_max_document_bytes")
    async def register_document(...): ...

* **JSON.** A Pydantic-bodied route's body is read within the route's limit and
  parsed by :func:`hokan.httpkit.body.read_json` (orjson: bounded depth, strict
  UTF-8), so a malformed, deeply nested or oversized body gets the same
  ``invalid_json`` / ``payload_too_large`` / ``unsupported_media_type`` answer on
  every route instead of FastAPI's own parser and its generic 400.
* **Body limits.** ``@body_limit(setting)`` names the settings field holding the
  route's limit; routes without one get ``HOKAN_IPS_MAX_BODY_BYTES``. The IPS
  enforces it (on ``Content-Length`` and on the bytes read) through
  :func:`hokan.httpkit.body.route_body_limit`, and the OpenAPI document shows it
  as ``x-body-limit``.
* **Errors.** Every operation documents the error statuses any request can meet
  (edge refusals, authentication, parameters, bodies) with the one error schema.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from hokan.httpkit.body import BODY_LIMIT_ATTRIBUTE, declared_body_limit, read_json
from hokan.httpkit.responses import ErrorOut

# Statuses every API operation can answer, whatever it does (edge refusals included).
STANDARD_ERRORS: dict[int, str] = {
    400: "invalid_parameter: a path, query or header parameter is not valid",
    401: "unauthenticated / invalid_token: no or bad credentials",
    403: "forbidden, insufficient_scope, or refused at the edge (network, WAF, ban)",
    404: "not_found: the resource (or the route) does not exist",
    408: "request_timeout: the body arrived too slowly",
    413: "payload_too_large: the body exceeds the route's limit",
    415: "unsupported_media_type: the Content-Type is not accepted",
    422: "invalid_payload / invalid_json: the body is not valid",
    429: "rate_limited / too_many_concurrent_requests",
    500: "internal_error",
    503: "service_unavailable / audit_unavailable",
}


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


def _error_responses(
    declared: dict[int | str, dict[str, Any]] | None, json_route: bool
) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = dict(declared or {})
    for status, description in STANDARD_ERRORS.items():
        mine = out.get(status, out.get(str(status), {}))
        out.pop(str(status), None)
        out[status] = {"description": description, **mine}
    for key, spec in list(out.items()):
        if str(key).isdigit() and int(key) >= 400 and "model" not in spec and "content" not in spec:
            # Errors are JSON even where the route answers e.g. CSV.
            how = {"model": ErrorOut} if json_route else {"content": _ERROR_CONTENT}
            out[key] = {**how, **spec}
    return out


class HokanRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        response_class = kwargs.get("response_class")
        json_route = not isinstance(response_class, type) or issubclass(
            response_class, JSONResponse
        )
        kwargs["responses"] = _error_responses(kwargs.get("responses"), json_route)
        declared = getattr(endpoint, BODY_LIMIT_ATTRIBUTE, None)
        if declared is not None:
            extra = dict(kwargs.get("openapi_extra") or {})
            extra["x-body-limit"] = f"HOKAN_{declared[0].upper()}"
            kwargs["openapi_extra"] = extra
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        field = self.body_field
        if field is None or type(field.field_info).__name__ == "Form":
            return handler

        async def parse_then_handle(request: Request) -> Response:
            # Parsed (and cached where FastAPI looks) before FastAPI's own parser runs.
            if request.headers.get("content-length") != "0":
                raw = await read_json(request, declared_body_limit(request), allow_empty=True)
                if raw is not None:
                    request._json = raw
            return await handler(request)

        return parse_then_handle


class Router(APIRouter):
    """``APIRouter`` with :class:`HokanRoute` as its route class."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", HokanRoute)
        super().__init__(**kwargs)
