"""Enumerate an app's API routes (for the isolation matrix and, later, the audit check)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute


def _walk(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if inner is not None and inner is not route:
            yield from _walk(getattr(inner, "routes", ()))


def api_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) an app serves through an APIRoute, HEAD excluded."""
    found = {(m, r.path) for r in _walk(app.routes) for m in (r.methods or ()) if m != "HEAD"}
    return sorted(found, key=lambda mp: (mp[1], mp[0]))
