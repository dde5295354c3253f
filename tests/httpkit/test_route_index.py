"""The route index (ADR 0027) answers exactly what the router's own walk answers."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import compile_path

from hokan.app import create_app
from hokan.httpkit import routes


def _scope(app: Any, method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "app": app, "method": method, "path": path, "root_path": ""}


def _sample(template: str) -> str:
    template = re.sub(r"\{[^}:]+:path\}", "a/b", template)
    return re.sub(r"\{[^}]+\}", "x1", template)


def test_index_matches_the_walk_for_every_route_and_some_misses() -> None:
    app = create_app()
    leaves = [(t, r) for t, r, endpoint in routes._leaves(app.router.routes, "") if endpoint]
    assert len(leaves) > 50
    paths = [_sample(t) for t, _ in leaves]
    paths += ["/", "/nope", "/api/v1/collections/", "/api/v1/collections/a/b/c/d/e/f"]
    paths += ["/static/app.css", "/api/v1/collections/staff/records/x/revisions/abc"]
    for path in paths:
        for method in ("GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"):
            scope = _scope(app, method, path)
            walked = routes._find(app.router.routes, scope, 0)
            assert routes.matched_route(scope) is walked, (method, path)


def test_the_match_is_kept_in_the_scope() -> None:
    app = create_app()
    scope = _scope(app, "GET", "/api/v1/collections/staff/records/r1")
    route = routes.matched_route(scope)
    assert (
        route is not None and route.path == "/api/v1/collections/{collection}/records/{record_id}"
    )
    scope["app"] = None  # asked again: answered from the scope, not found anew
    assert routes.matched_route(scope) is route


def test_the_routers_put_first_share_no_request_with_the_others() -> None:
    """The record routers come first (the hot path): no request of any other route is
    also matched by one of theirs, or the other way round, so moving them changes no match."""
    app = create_app()
    leaves = [(t, r) for t, r, endpoint in routes._leaves(app.router.routes, "") if endpoint]
    compiled = [(t, r, compile_path(t)[0]) for t, r in leaves]

    def first(template: str) -> bool:
        return template.startswith("/api/v1/collections")

    assert any(first(t) for t, _ in leaves)
    for template, route in leaves:
        path = _sample(template)
        for method in route.methods or ():
            hits = [t for t, o, rx in compiled if rx.match(path) and method in (o.methods or ())]
            assert len({first(t) for t in hits}) == 1, (method, path, hits)
