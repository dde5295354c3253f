"""The one error handler: ``{"error": code, "detail": …}`` for every failure, with
``detail`` in the caller's language (``Accept-Language``; Japanese by default).

FastAPI's and Starlette's own failures (parameter validation, unknown routes and
methods) are answered as the matching :class:`HokanError`, so there is one shape
and one set of codes whatever raised.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import redis
from botocore.exceptions import BotoCoreError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from hokan.httpkit.context import preferred_language
from hokan.httpkit.responses import JsonResponse
from hokan.kit import dependencies
from hokan.kit.errors import (
    BadRequest,
    DependencyUnavailable,
    Forbidden,
    HokanError,
    InvalidParameter,
    InvalidPayload,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
    UnsupportedMediaType,
)
from hokan.kit.logging import REQUEST_ID_SCOPE_KEY, request_id

log = logging.getLogger("hokan.errors")

_BY_STATUS: dict[int, type[HokanError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: InvalidPayload,
}


def _render(
    request: Request,
    exc: HokanError,
    headers: Mapping[str, str] | None = None,
    status: int | None = None,
    **more: object,
) -> JsonResponse:
    lang = preferred_language(request.headers.get("accept-language"))
    return JsonResponse(
        {**exc.body(lang), **more},
        status_code=status or exc.status,
        headers=headers or exc.headers or None,
    )


def _dependency_of(exc: BaseException) -> str | None:
    """Which external dependency an unexpected exception says is down, if any."""
    if isinstance(exc, redis.RedisError):
        return "redis"
    if isinstance(exc, OperationalError | InterfaceError):
        return "database"
    if isinstance(exc, BotoCoreError):  # no answer from S3 (a ClientError is an answer)
        return "blob_store"
    return None


async def hokan_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, HokanError)
    if exc.status >= 500:
        fields: dict[str, object] = {"code": exc.code, "status": exc.status}
        if exc.dependency is not None:  # one line naming what is down (ADR 0012)
            fields["dependency"] = exc.dependency
            if not isinstance(exc, DependencyUnavailable):  # that one was counted where raised
                dependencies.count(exc.dependency, "refused")
        with request_id(request.scope.get(REQUEST_ID_SCOPE_KEY)):
            log.error("error", extra={"fields": fields})
    return _render(request, exc)


async def validation_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, RequestValidationError)
    # Report where, never the offending value.
    problems = [
        {"loc": [str(p) for p in err.get("loc", ())], "type": err.get("type", "invalid")}
        for err in exc.errors()
    ]
    in_body = any(p["loc"][:1] == ["body"] for p in problems)
    error = InvalidPayload() if in_body else InvalidParameter()
    return _render(request, error, problems=problems)


async def http_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    # Anything else is never raised by Hokan: keep the status, answer generically.
    kind = _BY_STATUS.get(exc.status_code, BadRequest if exc.status_code < 500 else HokanError)
    return _render(request, kind(), exc.headers, exc.status_code)


async def client_disconnected(request: Request, exc: Exception) -> Response:
    # The client went away mid-request: nothing to answer and nothing wrong here.
    log.info("client disconnected", extra={"fields": {"path": request.url.path}})
    return Response(status_code=400)


async def unexpected_error(request: Request, exc: Exception) -> JsonResponse:
    # This handler runs outside the request-context middleware: the id comes from the scope.
    dependency = _dependency_of(exc)
    with request_id(request.scope.get(REQUEST_ID_SCOPE_KEY)):
        if dependency is not None:  # a dependency that is down is a 503, not a bug
            dependencies.failed(dependency, exc, "error")
            error = DependencyUnavailable(dependency)
            log.error(
                "error",
                extra={"fields": {"code": error.code, "status": 503, "dependency": dependency}},
            )
            return _render(request, error)
        log.error("unhandled", exc_info=(type(exc), exc, None), extra={"fields": {"status": 500}})
    return _render(request, HokanError())


def install(app: FastAPI) -> None:
    app.add_exception_handler(HokanError, hokan_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ClientDisconnect, client_disconnected)
    app.add_exception_handler(Exception, unexpected_error)
