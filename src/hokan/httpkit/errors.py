"""The one error handler: ``{"error": code, "detail": …}`` for every failure."""

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
from hokan.kit.errors import DependencyUnavailable, HokanError
from hokan.kit.logging import REQUEST_ID_SCOPE_KEY, request_id

log = logging.getLogger("hokan.errors")

_HTTP_CODES = {
    404: ("not_found", "対象が見つかりません。", "Not found."),
    405: ("method_not_allowed", "このメソッドは使用できません。", "Method not allowed."),
}


def _render(
    status: int, body: dict[str, object], headers: Mapping[str, str] | None = None
) -> JsonResponse:
    return JsonResponse(body, status_code=status, headers=headers)


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
    lang = preferred_language(request.headers.get("accept-language"))
    return _render(exc.status, exc.body(lang), exc.headers or None)


async def validation_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, RequestValidationError)
    # Report where, never the offending value.
    problems = [
        {"loc": [str(p) for p in err.get("loc", ())], "type": err.get("type", "invalid")}
        for err in exc.errors()
    ]
    lang = preferred_language(request.headers.get("accept-language"))
    message = (
        "リクエストの形式が正しくありません。" if lang == "ja" else "The request is malformed."
    )
    return _render(422, {"error": "invalid_request", "detail": message, "problems": problems})


async def http_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, ja, en = _HTTP_CODES.get(exc.status_code, ("http_error", "エラー", "Error"))
    lang = preferred_language(request.headers.get("accept-language"))
    return _render(
        exc.status_code, {"error": code, "detail": en if lang == "en" else ja}, exc.headers
    )


async def client_disconnected(request: Request, exc: Exception) -> Response:
    # The client went away mid-request: nothing to answer and nothing wrong here.
    log.info("client disconnected", extra={"fields": {"path": request.url.path}})
    return Response(status_code=400)


async def unexpected_error(request: Request, exc: Exception) -> JsonResponse:
    # This handler runs outside the request-context middleware: the id comes from the scope.
    lang = preferred_language(request.headers.get("accept-language"))
    dependency = _dependency_of(exc)
    with request_id(request.scope.get(REQUEST_ID_SCOPE_KEY)):
        if dependency is not None:  # a dependency that is down is a 503, not a bug
            dependencies.failed(dependency, exc, "error")
            error = DependencyUnavailable(dependency)
            log.error(
                "error",
                extra={"fields": {"code": error.code, "status": 503, "dependency": dependency}},
            )
            return _render(503, error.body(lang), error.headers)
        log.error("unhandled", exc_info=(type(exc), exc, None), extra={"fields": {"status": 500}})
    return _render(500, HokanError().body(lang))


def install(app: FastAPI) -> None:
    app.add_exception_handler(HokanError, hokan_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ClientDisconnect, client_disconnected)
    app.add_exception_handler(Exception, unexpected_error)
