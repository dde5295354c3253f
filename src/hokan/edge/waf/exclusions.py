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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from starlette.routing import Match

from hokan.edge.waf.model import Hit

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__hokan_waf_exclusions__"
# For fields no interpreter ever reads (passwords are hashed, codes compared).
EVERY_FAMILY = ("sqli", "xss", "lfi", "rfi", "cmdi", "php", "java", "ssti", "xml", "protocol")


@dataclass(frozen=True, slots=True)
class Exclusion:
    rules: frozenset[str]  # rule ids or family names
    fields: tuple[str, ...]  # fnmatch patterns over field names
    reason: str

    def covers(self, hit: Hit) -> bool:
        if hit.rule not in self.rules and hit.family not in self.rules:
            return False
        name = hit.field.removesuffix("#name")
        return any(fnmatchcase(name, pattern) for pattern in self.fields)


def waf_exclude(*rules: str, fields: Iterable[str], reason: str) -> Callable[[F], F]:
    """Let ``rules`` (ids or families) pass in ``fields`` of this route only."""
    if not rules or not reason:
        raise ValueError("name the rules and give the reason")
    exclusion = Exclusion(frozenset(rules), tuple(fields), reason)

    def mark(fn: F) -> F:
        setattr(fn, ATTRIBUTE, (*getattr(fn, ATTRIBUTE, ()), exclusion))
        return fn

    return mark


def matched_route(scope: Mapping[str, Any]) -> Any:
    """The route ``scope`` will reach, matched like the router does (through included
    routers and mounts), or None."""
    return _find(getattr(getattr(scope.get("app"), "router", None), "routes", ()), scope, 0)


def _find(routes: Iterable[Any], scope: Mapping[str, Any], depth: int) -> Any:
    for route in routes:
        match, _ = route.matches(scope)
        if match is not Match.FULL:
            continue
        if getattr(route, "endpoint", None) is not None or depth > 8:
            return route
        # An included router (FastAPI) or a mount: look inside, under its prefix.
        inner = getattr(getattr(route, "original_router", route), "routes", None)
        prefix = getattr(getattr(route, "include_context", None), "prefix", "") or ""
        path = scope.get("path", "")
        sub_scope = dict(scope, path=path[len(prefix) :]) if path.startswith(prefix) else scope
        found = _find(inner or (), sub_scope, depth + 1)
        if found is not None:
            return found
    return None


def exclusions_for(scope: Mapping[str, Any]) -> Sequence[Exclusion]:
    """The exclusions of the route ``scope`` will reach."""
    return tuple(getattr(getattr(matched_route(scope), "endpoint", None), ATTRIBUTE, ()))


def apply(hits: list[Hit], exclusions: Sequence[Exclusion]) -> list[Hit]:
    if not exclusions:
        return hits
    return [h for h in hits if not any(e.covers(h) for e in exclusions)]
