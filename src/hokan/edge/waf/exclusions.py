"""Per-route, per-field exclusions, declared in code next to the route that needs them.

    @router.put("/api/v1/templates/{name}")
    @waf_exclude("ssti", fields=["json.body"], reason="mail templates hold {{ placeholders }}")
    async def put_template(...): ...

The middleware finds the route a request will reach and drops hits whose rule
(an id such as ``ssti-statement`` or a whole family such as ``ssti``) and field
(``fnmatch`` patterns such as ``json.body`` or ``json.lines[].*``) an exclusion
names. There is no global list: an exclusion lives, and is reviewed, with its route.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hokan.edge.waf.model import Hit
from hokan.httpkit.routes import matched_route
from hokan.httpkit.waf_marks import ATTRIBUTE, EVERY_FAMILY, Exclusion, waf_exclude

__all__ = ["EVERY_FAMILY", "Exclusion", "apply", "exclusions_for", "matched_route", "waf_exclude"]


def exclusions_for(scope: Mapping[str, Any]) -> Sequence[Exclusion]:
    """The exclusions of the route ``scope`` will reach."""
    return tuple(getattr(getattr(matched_route(scope), "endpoint", None), ATTRIBUTE, ()))


def apply(hits: list[Hit], exclusions: Sequence[Exclusion]) -> list[Hit]:
    if not exclusions:
        return hits
    return [h for h in hits if not any(e.covers(h) for e in exclusions)]
