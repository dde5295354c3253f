"""Enumerate an app's API routes (for the isolation matrix and, later, the audit check),
and find the route a request will reach before the router runs (edge middleware)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Match


def _walk(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if inner is not None and inner is not route:
            yield from _walk(getattr(inner, "routes", ()))


CONSOLE_PREFIX = "/console"  # the web console's pages: a matrix of their own (tests/console)


def _is_console(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def _all_routes(app: Any) -> set[tuple[str, str]]:
    return {(m, r.path) for r in _walk(app.routes) for m in (r.methods or ()) if m != "HEAD"}


def api_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) an app serves through an APIRoute, HEAD and the console's
    pages excluded."""
    found = {(m, p) for m, p in _all_routes(app) if not _is_console(p)}
    return sorted(found, key=lambda mp: (mp[1], mp[0]))


def console_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) of the web console's pages."""
    found = {(m, p) for m, p in _all_routes(app) if _is_console(p)}
    return sorted(found, key=lambda mp: (mp[1], mp[0]))


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
