"""The console's routers and assets, installed by ``create_app``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from hokan.console import audit, grants, login, operator, tenant, vault
from hokan.console.guard import ConsoleRoute, error_page
from hokan.console.pages import STATIC, STATIC_URL
from hokan.kit.errors import NotFound

_fallback = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@_fallback.get("/console/{rest:path}")
async def not_found(request: Request, rest: str) -> Response:
    return await error_page(request, NotFound())


def install(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=STATIC), name="console-static")
    for module in (login, tenant, grants, vault, audit, operator):
        app.include_router(module.router)
    app.include_router(_fallback)  # last: only paths no page claimed
