"""The public status page (UI-3, MON-4): ``/status``, ``/status.json``, ``/status/feed.atom``.

No authentication, like ``/healthz`` — but still behind admission (Japan only)
and the IPS, which every request passes. Never blocked by the gate: it is where
the gate sends browsers. The page is Japanese unless ``?lang=en`` or the
browser's ``Accept-Language`` asks for English; it loads nothing from elsewhere
(its one stylesheet is inline, allowed by this response's own CSP nonce).
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import Query, Request
from starlette.responses import HTMLResponse, Response

from hokan.httpkit.context import Host, preferred_language
from hokan.httpkit.headers import csp_nonce
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.kit.clock import utcnow
from hokan.monitoring import status_page
from hokan.monitoring.status_page import StatusData

router = Router(tags=["status"])
log = logging.getLogger("hokan.monitoring")

PAGE_CSP = (
    "default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
)
NO_STORE = {"Cache-Control": "no-cache, max-age=0"}
Lang = Annotated[Literal["ja", "en"] | None, Query(description="ja (default) or en")]


async def _data(request: Request) -> StatusData:
    host: Host = request.app.state.runtime
    now = utcnow()
    stale = host.settings.status_stale_seconds

    def read() -> StatusData:
        with host.db.session(system=True) as s:
            return status_page.collect(s, now, stale_seconds=stale)

    try:
        return await host.call(read)
    except Exception as exc:  # the failure page must render when the database is down
        log.warning(
            "status page data unreadable", extra={"fields": {"exc_type": type(exc).__name__}}
        )
        return StatusData(generated_at=now, readable=False)


def _lang(request: Request, lang: str | None) -> str:
    return lang or preferred_language(request.headers.get("accept-language"))


@router.get("/status", include_in_schema=False, response_class=HTMLResponse)
async def status_html(request: Request, lang: Lang = None) -> Response:
    data = await _data(request)
    chosen = _lang(request, lang)
    nonce = csp_nonce(request)
    html = status_page.render_html(data, chosen, nonce)
    headers = {
        **NO_STORE,
        "Content-Security-Policy": PAGE_CSP.format(nonce=nonce),
        "Content-Language": chosen,
        "Vary": "Accept-Language",
    }
    return HTMLResponse(html, status_code=200 if data.readable else 503, headers=headers)


@router.get("/status.json", summary="The service's current state (public)")
async def status_json(request: Request) -> Response:
    """Components, current incidents with their timelines, scheduled maintenance and
    monthly availability — the status page's data, labels in Japanese and English."""
    data = await _data(request)
    return JsonResponse(data.as_json(), status_code=200 if data.readable else 503, headers=NO_STORE)


@router.get("/status/feed.atom", include_in_schema=False)
async def status_feed(request: Request, lang: Lang = None) -> Response:
    data = await _data(request)
    body = status_page.render_atom(data, _lang(request, lang))
    return Response(
        body,
        status_code=200 if data.readable else 503,
        media_type="application/atom+xml; charset=utf-8",
        headers=NO_STORE,
    )
