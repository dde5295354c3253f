"""API documentation served from the package itself: no CDN, so it works on a
closed network and under a strict Content-Security-Policy."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse
from swagger_ui_bundle import swagger_ui_path

from hokan.httpkit.headers import csp_nonce

DOCS_ASSETS = "/docs/assets"


def install(app: FastAPI) -> None:
    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )
        # The Content-Security-Policy runs only scripts carrying this request's nonce.
        html = bytes(page.body).replace(
            b"<script", f'<script nonce="{csp_nonce(request)}"'.encode()
        )
        return HTMLResponse(html)
