"""The IPS at the edge: a pure-ASGI middleware (after geo restriction, before the WAF).

Per request: bans (403 ``source_banned``) and the per-IP rate (429
``rate_limited``), a flood turning into a ban; the cap on concurrent requests
per IP (429 ``too_many_concurrent_requests``); the route's body limit (413,
on ``Content-Length`` before the app runs and on the bytes read); the wait for
each body chunk, and a minimum average body rate once the body has taken that
long (408). The header read timeout lives in the server protocol
(:mod:`hokan.edge.ips.protocol`): the app never sees a request whose headers
have not arrived.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hokan.audit.context import source_ip_var
from hokan.edge.ips.errors import RequestTimeout, TooManyConcurrent, with_retry_after
from hokan.httpkit.body import route_body_limit
from hokan.httpkit.context import preferred_language
from hokan.httpkit.responses import JsonResponse
from hokan.kit import metrics
from hokan.kit.errors import HokanError, PayloadTooLarge

if TYPE_CHECKING:
    from hokan.edge.host import EdgeHost

UNCOUNTED_PATHS = frozenset({"/healthz", "/readyz"})  # probes: never rate-limited


def _limit(error: HokanError) -> str:
    """The metrics label of a per-address refusal: a ban, or the request-rate limit."""
    return "banned" if error.code == "source_banned" else "address"


class IpsMiddleware:
    def __init__(self, app: ASGIApp, runtime: EdgeHost) -> None:
        self.app = app
        self.runtime = runtime
        self._inflight: dict[str, int] = {}

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: HokanError) -> None:
        lang = "ja"
        for name, value in scope["headers"]:
            if name == b"accept-language":
                lang = preferred_language(value.decode("latin-1"))
        response = JsonResponse(error.body(lang), status_code=error.status, headers=error.headers)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ips = self.runtime.ips
        settings = self.runtime.settings
        client = scope.get("client")
        ip = source_ip_var.get() or (client[0] if client else "")
        if scope["path"] not in UNCOUNTED_PATHS:
            verdict = ips.check_ip(ip)
            if verdict is not None:
                metrics.RATE_LIMITED.labels(_limit(verdict.error)).inc()
                if verdict.ban:
                    await to_thread.run_sync(ips.ban, ip, verdict.ban)
                await self._refuse(scope, receive, send, verdict.error)
                return
        limit = route_body_limit(scope, settings)
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(scope, receive, send, PayloadTooLarge("limit", limit=limit))
                return
        # Exempt addresses (the operator's own monitoring or NAT) are not held to the
        # per-address cap; a much higher one still guards the process.
        cap = (
            settings.ips_max_concurrent_exempt
            if ip in ips.exempt
            else settings.ips_max_concurrent_per_ip
        )
        if ip and self._inflight.get(ip, 0) >= cap:
            metrics.RATE_LIMITED.labels("concurrent").inc()
            error = with_retry_after(TooManyConcurrent(), 1)
            await self._refuse(scope, receive, send, error)
            return
        self._inflight[ip] = self._inflight.get(ip, 0) + 1
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, self._guarded(receive, limit), tracked_send)
        except (PayloadTooLarge, RequestTimeout) as exc:
            # Raised by the guarded body inside an inner layer (the WAF buffers bodies
            # before the app's own error handler could render it): answer here.
            if started:
                raise
            await self._refuse(scope, receive, send, exc)
        finally:
            left = self._inflight[ip] - 1
            if left:
                self._inflight[ip] = left
            else:
                del self._inflight[ip]

    def _guarded(self, receive: Receive, limit: int) -> Receive:
        settings = self.runtime.settings
        timeout = settings.ips_body_timeout_seconds
        min_rate = settings.ips_min_body_rate
        size = 0
        body_done = False
        started: float | None = None

        async def guarded() -> Message:
            nonlocal size, body_done, started
            if body_done:  # e.g. waiting for a disconnect while a response streams
                return await receive()
            now = anyio.current_time()
            if started is None:
                started = now
            try:
                with anyio.fail_after(timeout):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout("no_data", seconds=f"{timeout:g}") from None
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    raise PayloadTooLarge("limit", limit=limit)
                body_done = not message.get("more_body", False)
                elapsed = anyio.current_time() - started
                # A body trickled in just under the per-chunk timeout (slow POST).
                if not body_done and elapsed > timeout and size < min_rate * elapsed:
                    raise RequestTimeout("too_slow", min_rate=min_rate)
            return message

        return guarded
