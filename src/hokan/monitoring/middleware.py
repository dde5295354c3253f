"""Request metrics as a pure-ASGI middleware (the outermost layer: refusals count too).

Per request: one latency observation and one count by route template, method and
status class, and the body bytes in and out. The template is the route Starlette
matched (``scope["route"]``, set by the router on the same scope dict), so it costs
nothing; a request refused at the edge before routing (geo, IPS, WAF) is matched
once here like the WAF matches it, and one that matches no route is ``unmatched``.
Raw paths and ids never become labels.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hokan.httpkit.routes import matched_route
from hokan.kit import metrics

# Labelled children by label values (``labels()`` costs more than the increment): as
# bounded as the labels themselves — templates x methods x status classes.
_REQUESTS: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_BYTES: dict[str, tuple[Any, Any]] = {}


def route_template(scope: Scope, status: int) -> str:
    route = scope.get("route")
    if route is None and status != 404:  # refused before routing: where it was going
        route = matched_route(scope)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else metrics.UNMATCHED


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        received = 0
        sent = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def counted_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counted_receive, counted_send)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope, status)
            key = (route, metrics.method_label(scope["method"]), metrics.status_class(status))
            children = _REQUESTS.get(key)
            if children is None:
                children = _REQUESTS[key] = (
                    metrics.HTTP_REQUESTS.labels(*key),
                    metrics.HTTP_LATENCY.labels(*key),
                )
            children[0].inc()
            children[1].observe(elapsed)
            if received or sent:
                sizes = _BYTES.get(route)
                if sizes is None:
                    sizes = _BYTES[route] = (
                        metrics.HTTP_BYTES_IN.labels(route),
                        metrics.HTTP_BYTES_OUT.labels(route),
                    )
                if received:
                    sizes[0].inc(received)
                if sent:
                    sizes[1].inc(sent)
