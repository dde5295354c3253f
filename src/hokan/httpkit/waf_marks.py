"""WAF exclusions declared in code next to the route that needs them (EDGE-3).

    @router.put("/api/v1/templates/{name}")
    @waf_exclude("ssti", fields=["json.body"], reason="mail templates hold {{ placeholders }}")
    async def put_template(...): ...

Only the marker lives here, in the HTTP kit, so that domain routes can carry it
without importing the WAF; ``hokan.edge.waf.exclusions`` applies it to hits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol, TypeVar


class Hit(Protocol):
    """What an exclusion needs of a WAF hit."""

    @property
    def rule(self) -> str: ...

    @property
    def family(self) -> str: ...

    @property
    def field(self) -> str: ...


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
