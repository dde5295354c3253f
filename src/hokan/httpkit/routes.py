"""Enumerate an app's API routes (for the isolation matrix and, later, the audit check),
and find the route a request will reach before the router runs (edge middleware).

:func:`matched_route` is asked by several middlewares per request (IPS body limit, WAF
exclusions, metrics): the answer is kept in the request's scope, and found through an
index of the app's endpoint routes by their literal path prefix, built once per app, so
a request tries the few routes under its prefix instead of walking every router (ADR
0027). Anything the index cannot answer exactly (no endpoint matched, a mount in the
way) takes the router's own walk, as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Match, compile_path

_MEMO = "hokan.matched_route"
_MISSING = object()
_DEFER = object()  # an index entry that is not an endpoint: the slow walk decides


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
    routers and mounts), or None. Found once per request (kept in the scope)."""
    found = scope.get(_MEMO, _MISSING)
    if found is _MISSING:
        found = _matched(scope)
        if isinstance(scope, MutableMapping):
            scope[_MEMO] = found
    return found


def _matched(scope: Mapping[str, Any]) -> Any:
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", None)
    if routes is None:
        return None
    found = _index(routes).find(scope)
    if found is _DEFER:
        return _find(routes, scope, 0)
    return found


class _Entry:
    __slots__ = ("methods", "order", "regex", "route")

    def __init__(self, order: int, route: Any, template: str, endpoint: bool) -> None:
        self.order = order
        self.route = route if endpoint else _DEFER
        self.methods = getattr(route, "methods", None) if endpoint else None
        regex = compile_path(template)[0] if endpoint else None
        self.regex: re.Pattern[str] | None = regex


class _Index:
    """Endpoint routes (and, as "ask the router", anything else) by literal path prefix."""

    def __init__(self, routes: list[Any]) -> None:
        self.size = len(routes)
        self.buckets: dict[tuple[str, ...], list[_Entry]] = {}
        for order, (template, route, endpoint) in enumerate(_leaves(routes, "")):
            literal = template.split("{", 1)[0]
            segments = literal.split("/")[1:]
            if "{" in template:
                segments = segments[:-1]  # the segment holding the parameter is not literal
            while segments and not segments[-1]:  # "/" or a trailing slash: the prefix above
                segments = segments[:-1]
            self.buckets.setdefault(tuple(segments), []).append(
                _Entry(order, route, template, endpoint)
            )

    def find(self, scope: Mapping[str, Any]) -> Any:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        segments = path.split("/")[1:]
        candidates: list[_Entry] = []
        for k in range(len(segments) + 1):
            candidates.extend(self.buckets.get(tuple(segments[:k]), ()))
        candidates.sort(key=lambda e: e.order)
        method = scope.get("method")
        for entry in candidates:
            if entry.regex is None:  # a mount or a route of another kind: the router decides
                return _DEFER
            if entry.regex.match(path) and (entry.methods is None or method in entry.methods):
                return entry.route
        return _DEFER


def _leaves(routes: Iterable[Any], prefix: str) -> Iterator[tuple[str, Any, bool]]:
    """(full path template, route, is an endpoint route) in the router's order."""
    for route in routes:
        if getattr(route, "endpoint", None) is not None and isinstance(
            getattr(route, "path", None), str
        ):
            yield prefix + route.path, route, True
            continue
        inner = getattr(getattr(route, "original_router", None), "routes", None)
        if inner is not None:  # an included FastAPI router
            sub = getattr(getattr(route, "include_context", None), "prefix", "") or ""
            yield from _leaves(inner, prefix + sub)
            continue
        yield prefix + str(getattr(route, "path", "") or ""), route, False


_INDEXES: dict[int, tuple[list[Any], _Index]] = {}


def _index(routes: list[Any]) -> _Index:
    """The index of ``routes`` (rebuilt if routes were added since)."""
    held = _INDEXES.get(id(routes))
    if held is None or held[0] is not routes or held[1].size != len(routes):
        held = (routes, _Index(routes))
        if len(_INDEXES) > 64:  # apps made by tests: keep it bounded
            _INDEXES.clear()
        _INDEXES[id(routes)] = held
    return held[1]


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
