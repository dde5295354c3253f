"""The WAF as pure-ASGI middleware (innermost edge layer, before routing).

Head first (method, framing, path, query, headers, cookies). Then the body:
JSON, form and XML bodies are buffered up to ``HOKAN_WAF_MAX_BODY_BYTES``,
inspected, and replayed to the application; larger ones pass uninspected
(counted). Multipart bodies stream: part headers (field and file names) and
small field values are inspected as they pass, file content is not; if a later
part trips a rule, the application's receive sees a disconnect and the caller
gets the 403 instead of the application's answer.
"""

from __future__ import annotations

import logging
from typing import Any

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hokan.audit.context import source_ip_var
from hokan.edge.host import EdgeHost
from hokan.edge.waf import exclusions
from hokan.edge.waf.engine import Verdict, verdict
from hokan.edge.waf.errors import WafBlocked
from hokan.edge.waf.model import Hit
from hokan.edge.waf.multipart import MultipartScanner, boundary_of
from hokan.edge.waf.service import FORM_TYPE, Waf, audit_call, is_json, media_type
from hokan.edge.waf.xmlbody import is_xml
from hokan.httpkit.context import preferred_language
from hokan.httpkit.responses import JsonResponse

log = logging.getLogger("hokan.waf")
MULTIPART_PREFETCH = 65_536


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


class WafMiddleware:
    def __init__(self, app: ASGIApp, runtime: EdgeHost) -> None:
        self.app = app
        self.runtime = runtime
        self.waf: Waf = runtime.waf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.waf.enabled:
            await self.app(scope, receive, send)
            return
        waf = self.waf
        waf.counters.inspected += 1
        hits = waf.inspect_head(scope)
        content_type = _header(scope, b"content-type")
        media = media_type(content_type)
        if media.startswith("multipart/"):
            await self._multipart(scope, receive, send, hits, content_type)
            return
        if _has_body(scope) and _inspectable(media):
            body, more = await _buffer(receive, waf.max_body)
            if not more and len(body) <= waf.max_body:
                hits.extend(waf.inspect_body(content_type, body))
            else:
                waf.counters.uninspected_bodies += 1
            receive = _replay(body, receive, more=more)
        result = await self._decide(scope, hits)
        if result is not None and waf.blocking:
            await self._refuse(scope, send, result)
            return
        await self.app(scope, receive, send)

    async def _decide(self, scope: Scope, hits: list[Hit]) -> Verdict | None:
        if not hits:
            return None
        waf = self.waf
        hits = exclusions.apply(hits, exclusions.exclusions_for(scope))
        result = verdict(hits, waf.threshold)
        if not result.blocked:
            return None
        waf.record(result)
        route = _route_template(scope)
        log.warning(
            "waf block" if waf.blocking else "waf detect",
            extra={"fields": {"rules": result.rules, "score": result.score, "route": route}},
        )
        await self.runtime.call(
            audit_call(waf, self.runtime.db, result, source_ip_var.get(), scope["method"], route)
        )
        if waf.blocking:  # repeated attacks from one address end in an IPS ban (EDGE-4)
            await to_thread.run_sync(self.runtime.ips.attack, source_ip_var.get())
        return result

    async def _refuse(self, scope: Scope, send: Send, result: Verdict) -> None:
        lang = preferred_language(_header(scope, b"accept-language"))
        error = WafBlocked(rules=result.rules)
        response = JsonResponse(error.body(lang), status_code=error.status)
        await response(scope, _no_receive, send)

    async def _multipart(
        self, scope: Scope, receive: Receive, send: Send, hits: list[Hit], content_type: str
    ) -> None:
        waf = self.waf
        boundary = boundary_of(content_type)
        if boundary is None:
            hits.append(Hit("protocol-multipart-boundary", "protocol", 5, "header.content-type"))
            result = await self._decide(scope, hits)
            if result is not None and waf.blocking:
                await self._refuse(scope, send, result)
                return
            await self.app(scope, receive, send)
            return
        scanner = MultipartScanner(boundary, waf.max_body)

        def scan(chunk: bytes) -> list[Hit]:
            found = waf.fields_hits(scanner.feed(chunk))
            if scanner.malformed:
                found.append(Hit("protocol-multipart-headers", "protocol", 5, "multipart"))
                scanner.malformed = False
            return found

        # Read ahead a little: most forms end inside it, so they are judged before the app runs.
        chunks: list[bytes] = []
        size, more = 0, True
        while more and size < MULTIPART_PREFETCH:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            chunks.append(chunk)
            size += len(chunk)
            hits.extend(scan(chunk))
        result = await self._decide(scope, hits)
        if result is not None and waf.blocking:
            await self._refuse(scope, send, result)
            return
        state: dict[str, Any] = {"blocked": None, "started": False, "replayed": False}
        upstream = _replay(b"".join(chunks), receive, more=more)

        async def inspected_receive() -> Message:
            if state["blocked"] is not None:
                return {"type": "http.disconnect"}
            message = await upstream()
            if not state["replayed"]:  # the read-ahead, scanned already
                state["replayed"] = True
                return message
            if message["type"] == "http.request":
                late = scan(message.get("body", b""))
                if late:
                    decided = await self._decide(scope, hits + late)
                    hits.extend(late)
                    if decided is not None and waf.blocking:
                        state["blocked"] = decided
                        return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["blocked"] is not None:
                return  # the application's answer to a cut-off body is replaced by the 403
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, inspected_receive, guarded_send)
        if state["blocked"] is not None:
            if state["started"]:
                log.error("waf block after the response started", extra={"fields": {}})
                return
            await self._refuse(scope, send, state["blocked"])


def _inspectable(media: str) -> bool:
    return (
        is_json(media)
        or media == FORM_TYPE
        or is_xml(media)
        or not media
        or media.startswith("text/")
    )


def _has_body(scope: Scope) -> bool:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            return bool(value.strip() not in (b"0", b""))
        if key == b"transfer-encoding":
            return True
    return False


async def _buffer(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """Read until the body ends or passes ``limit`` bytes; say whether more is to come."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False
        if size > limit:
            return b"".join(chunks), True


def _replay(body: bytes, receive: Receive, *, more: bool) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()  # the rest of the body, or the disconnect the app waits for

    return replay


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _route_template(scope: Scope) -> str:
    """The matched route's path template (never the raw path: it may hold the payload)."""
    return str(getattr(exclusions.matched_route(scope), "path", ""))[:200]
