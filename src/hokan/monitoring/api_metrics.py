"""``GET /metrics``: the Prometheus exposition, for ``HOKAN_METRICS_CIDRS`` only.

Any other client address (as admission resolved it: the peer, or behind a trusted
proxy the forwarded client) gets the same 404 ``not_found`` as a path that does not
exist, so the endpoint is not advertised. The request still passes admission (geo)
and the IPS like any other; the WAF's body rules do not apply (a scrape has no body)
and it needs no terminal certificate (the scraper is a machine on a listed network).
"""

from __future__ import annotations

from anyio import to_thread
from fastapi import Request, Response

from hokan.edge.admission import NetworkSet, client_ip, parse_address
from hokan.httpkit.routing import Router
from hokan.httpkit.waf_marks import EVERY_FAMILY, waf_exclude
from hokan.kit.errors import NotFound
from hokan.monitoring import exposition

PATH = "/metrics"
router = Router(tags=["health"])


def allowed(request: Request) -> bool:
    state = request.app.state
    networks = getattr(state, "metrics_networks", None)
    if networks is None:
        networks = state.metrics_networks = NetworkSet(state.runtime.settings.metrics_cidrs)
    addr = parse_address(client_ip(request))
    return addr is not None and addr in networks


@router.get(PATH, include_in_schema=False)
@waf_exclude(
    *EVERY_FAMILY,
    fields=["body", "json", "json.*", "form", "form.*", "xml", "xml.*", "multipart*"],
    reason="a scrape is a GET without a body; its answer is counters only",
)
async def metrics(request: Request) -> Response:
    if not allowed(request):
        raise NotFound
    source: exposition.MetricsSource = request.app.state.runtime
    body = await to_thread.run_sync(exposition.render, source)
    return Response(body, media_type=exposition.CONTENT_TYPE)
