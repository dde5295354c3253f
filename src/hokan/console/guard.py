"""How console requests meet the API's rules without copying them (ADR 0026).

* **Sessions.** The console uses the API's session cookies and the API's typed
  dependencies (``ManageUsers``, ``VaultReader`` …): the same authentication,
  certificate binding, admission, role checks and audit of refusals.
* **CSRF.** The API reads the session's CSRF token from ``X-CSRF-Token``; a plain
  HTML form cannot send headers, so :func:`form_csrf` (a dependency of every
  console router, solved before the authentication) moves the form's
  ``csrf_token`` field into that header. The token itself is kept at login in an
  HttpOnly, SameSite=Strict cookie and written into each form by the server.
* **Errors as pages.** :class:`ConsoleRoute` turns a ``HokanError`` into a page:
  401 → the login page (and back afterwards), 403 → the refusal page, 404 → the
  not-found page; anything else → the error page with the API's code.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse

from hokan.identity.sessions import CSRF_HEADER, UNSAFE_METHODS
from hokan.kit.errors import HokanError, NotFound

CSRF_COOKIE = "hokan_csrf"
OPERATOR_CSRF_COOKIE = "hokan_op_csrf"
CSRF_FIELD = "csrf_token"
BACK_FIELD = "back"  # the page a form was on: where to return after a new login
OPS_PREFIX = "/console/ops"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_operator_path(path: str) -> bool:
    return path == OPS_PREFIX or path.startswith(OPS_PREFIX + "/")


def csrf_token(request: Request) -> str:
    cookie = OPERATOR_CSRF_COOKIE if is_operator_path(request.url.path) else CSRF_COOKIE
    return request.cookies.get(cookie, "")


def login_path(path: str) -> str:
    return OPS_PREFIX + "/login" if is_operator_path(path) else "/console/login"


def safe_next(value: str | None, default: str = "/console") -> str:
    """A console path to return to; anything else (another site, ``//host``) is not."""
    if not value or not value.startswith("/console") or value.startswith("//"):
        return default
    if any(c in value for c in "\\\r\n") or "/login" in value:
        return default
    return value


async def form_csrf(request: Request) -> None:
    """Put a form's CSRF token where the session check reads it."""
    if request.method not in UNSAFE_METHODS or CSRF_HEADER in request.headers:
        return
    if not request.headers.get("content-type", "").startswith(_FORM_TYPES):
        return
    token = (await request.form()).get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        return
    raw = token.encode("latin-1", "ignore")[:200]
    request.scope["headers"] = [*request.scope["headers"], (CSRF_HEADER.encode(), raw)]
    request.__dict__.pop("_headers", None)  # Starlette caches the parsed headers


async def _back(request: Request) -> str:
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    back = None
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        value = (await request.form()).get(BACK_FIELD)
        back = value if isinstance(value, str) else None
    return safe_next(back, request.url.path)


async def error_page(request: Request, exc: HokanError) -> Response:
    if exc.status == 401:
        target = await _back(request)
        to = f"{login_path(request.url.path)}?next={quote(target, safe='/')}&expired=1"
        response: Response = RedirectResponse(to, status_code=303)
        return response
    if exc.code == "password_change_required" and not is_operator_path(request.url.path):
        return RedirectResponse("/console/password", status_code=303)
    from hokan.console.pages import render  # pages imports this module

    template = {403: "console/403.html", 404: "console/404.html"}.get(
        exc.status, "console/error.html"
    )
    return render(request, template, {"error": exc}, status=exc.status)


class ConsoleRoute(APIRoute):
    """A console route: a refusal or failure is a page, never JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except HokanError as exc:
                return await error_page(request, exc)
            except RequestValidationError:  # a malformed id in the path: nothing there
                return await error_page(request, NotFound())

        return run
