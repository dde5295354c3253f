"""The gate (MON-4, MON-5): outages and maintenance windows decided before the routes run.

A pure-ASGI middleware, innermost of the edge (after the WAF, just before the
routes), asking :class:`~hokan.monitoring.state.ServiceState` — an in-memory
snapshot at most a second old, so it costs a lookup per request and follows a
new incident well within one probe interval.

* **Outage.** While an open incident takes out what a route needs — a full
  outage takes out everything; a partial one its functions (the vault, the
  attachments, login …, :data:`ROUTE_FUNCTIONS`) — a browser (``Accept:
  text/html``) is sent to ``/status`` (303) and an API caller gets 503
  ``service_unavailable`` with ``Retry-After`` and the incident's number and id.
* **Maintenance.** While a window runs, writes (POST/PUT/PATCH/DELETE on the
  tenants' data routes; login and reading-by-POST such as a vault reveal are
  not writes) get 503 ``maintenance`` with ``Retry-After`` until the window's
  end; reads too when the window says so.
* **Notice.** From its announcement on, responses to the affected callers carry
  ``Hokan-Maintenance: start=<ISO>; end=<ISO>`` (``; emergency`` when it is one)
  naming the current or next window.

Never gated: the status page, health and metrics, the API docs, and the
operators' routes (operators must be able to work during an outage).

A per-tenant incident or window needs the caller's tenant, known only once the
route's authentication has run. For those (rare) moments the request's state
is watched: when authentication records the principal, the gate checks it and
refuses there, before the route's work starts.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hokan.httpkit.context import preferred_language
from hokan.httpkit.responses import JsonResponse
from hokan.kit.clock import iso
from hokan.kit.errors import HokanError
from hokan.monitoring.errors import MaintenanceMode, ServiceDown
from hokan.monitoring.state import FULL, Outage, ServiceState, Snapshot, Window

HEADER = "hokan-maintenance"
_HEADER = HEADER.encode()
STATUS_PATH = "/status"
RETRY_AFTER_OUTAGE = 30  # seconds: about one probe interval
EXEMPT_EXACT = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/favicon.ico"})
# The operator console and the console's assets too (ADR 0026): operators work through it.
EXEMPT_PREFIXES = ("/status", "/docs", "/api/v1/operator/", "/console/ops", "/console/static/")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# POSTs that only read (a vault reveal or download carries its purpose in a body).
READING_POSTS = ("/reveal", "/download")
# Routes that are not tenant data: signing in and out stays possible in maintenance.
NOT_DATA = ("/api/v1/auth/", "/console/login", "/console/logout", "/console/language")

# Route prefix -> the functions (components.FUNCTIONS) a request there needs,
# longest prefix first; every route needs "api". Vault reads and writes differ.
ROUTE_FUNCTIONS: tuple[tuple[str, frozenset[str]], ...] = (
    ("/api/v1/auth/login", frozenset({"api", "login"})),
    ("/api/v1/vault", frozenset({"api", "vault_write"})),  # reads: see functions_for
    ("/api/v1/collections", frozenset({"api", "records"})),
)
_API = frozenset({"api"})
_VAULT_READ = frozenset({"api", "vault_read"})
_ATTACHMENTS = frozenset({"api", "records", "attachments"})


def exempt(path: str) -> bool:
    return path in EXEMPT_EXACT or path.startswith(EXEMPT_PREFIXES)


def is_read(method: str, path: str) -> bool:
    return method not in WRITES or (method == "POST" and path.endswith(READING_POSTS))


def functions_for(method: str, path: str) -> frozenset[str]:
    """The functions a request needs (for partial outages)."""
    if path.startswith("/api/v1/vault"):
        return _VAULT_READ if is_read(method, path) else ROUTE_FUNCTIONS[1][1]
    if path.startswith("/api/v1/collections") and "/attachments" in path:
        return _ATTACHMENTS
    for prefix, needed in ROUTE_FUNCTIONS:
        if path.startswith(prefix):
            return needed
    return _API


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def wants_html(scope: Scope) -> bool:
    accept = _header(scope, b"accept")
    return "text/html" in accept


def _retry_after(seconds: float) -> str:
    return str(max(1, int(seconds + 0.999)))


def outage_error(outage: Outage) -> ServiceDown:
    error = ServiceDown(
        "full" if outage.outage == FULL else "partial",
        incident=outage.number,
        incident_id=str(outage.id),
        status_page=STATUS_PATH,
    )
    error.headers["Retry-After"] = str(RETRY_AFTER_OUTAGE)
    return error


def maintenance_error(window: Window, now: datetime) -> MaintenanceMode:
    error = MaintenanceMode(
        "writes" if window.reads_allowed else "all",
        maintenance_start=iso(window.starts_at),
        maintenance_end=iso(window.ends_at),
        status_page=STATUS_PATH,
    )
    error.headers["Retry-After"] = _retry_after((window.ends_at - now).total_seconds())
    error.headers["Hokan-Maintenance"] = header_value(window).decode()
    return error


def header_value(window: Window) -> bytes:
    text = f"start={iso(window.starts_at)}; end={iso(window.ends_at)}"
    return (text + "; emergency" if window.emergency else text).encode()


def _blocks(window: Window, method: str, path: str) -> bool:
    if path.startswith(NOT_DATA):
        return False
    return not (window.reads_allowed and is_read(method, path))


class _PrincipalWatch(dict[str, Any]):
    """The request's state, checking the principal the moment authentication records it."""

    def __init__(self, state: dict[str, Any], check: Any) -> None:
        super().__init__(state)
        self._check = check

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "principal":
            self._check(value)  # raises the refusal: the route's handler renders it
        super().__setitem__(key, value)


class ServiceGate:
    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app = app
        self.state = state

    async def _snapshot(self) -> Snapshot:
        snap = self.state.fresh()
        if snap is None:  # at most once a second per process: off the event loop
            snap = await to_thread.run_sync(self.state.refresh)
        return snap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        snap = await self._snapshot()
        if snap.quiet:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        now = self.state.clock()
        needed = functions_for(method, path)
        outage = snap.outage_for(needed)
        if outage is not None:
            await self._refuse(scope, receive, send, outage_error(outage))
            return
        window = snap.running_window(None, now)
        if window is not None and window.tenant_id is None and _blocks(window, method, path):
            await self._refuse(scope, receive, send, maintenance_error(window, now))
            return
        if snap.tenant_specific:
            scope["state"] = _PrincipalWatch(
                scope.get("state") or {}, self._tenant_check(snap, method, path, needed, now)
            )
        if not snap.windows:
            await self.app(scope, receive, send)
            return

        async def send_with_notice(message: Message) -> None:
            if message["type"] == "http.response.start":
                principal = (scope.get("state") or {}).get("principal")
                tenant_id = getattr(principal, "tenant_id", None)
                upcoming = snap.next_window(tenant_id, now)
                headers = list(message.get("headers", []))
                if upcoming is not None and all(k != _HEADER for k, _ in headers):
                    headers.append((_HEADER, header_value(upcoming)))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_notice)

    def _tenant_check(
        self, snap: Snapshot, method: str, path: str, needed: frozenset[str], now: datetime
    ) -> Any:
        def check(principal: Any) -> None:
            tenant_id: uuid.UUID | None = getattr(principal, "tenant_id", None)
            if tenant_id is None:
                return
            outage = snap.outage_for(needed, tenant_id, anyone=False)
            if outage is not None:
                raise outage_error(outage)
            for window in snap.windows:
                live = window.running(now) and window.applies_to(tenant_id)
                if live and _blocks(window, method, path):
                    raise maintenance_error(window, now)

        return check

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: HokanError) -> None:
        if wants_html(scope):
            response: Any = JsonResponse(
                {"error": error.code, "status_page": STATUS_PATH},
                status_code=303,
                headers={"Location": STATUS_PATH, **error.headers},
            )
        else:
            lang = preferred_language(_header(scope, b"accept-language") or None)
            response = JsonResponse(
                error.body(lang), status_code=error.status, headers=error.headers
            )
        await response(scope, receive, send)
