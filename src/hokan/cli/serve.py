"""``hokan serve``: the HTTP API under uvicorn."""

from __future__ import annotations

import typer
import uvicorn

from hokan import migrations
from hokan.cli._common import fail, runtime
from hokan.edge.ips.protocol import GuardedHttpToolsProtocol
from hokan.kit.db import Database


def serve(
    host: str = typer.Option(None, help="Bind address (default HOKAN_HOST)"),
    port: int = typer.Option(None, help="Port (default HOKAN_PORT)"),
    workers: int = typer.Option(None, help="Worker processes (default HOKAN_WORKERS)"),
) -> None:
    """Serve the API (OpenAPI at /docs)."""
    with runtime() as rt:
        pairs: tuple[tuple[migrations.Which, Database], ...] = (
            ("system", rt.db),
            ("keyring", rt.keyring_db),
        )
        for which, db in pairs:
            if migrations.current(which, db.engine) != migrations.head(which):
                fail(f"the {which} database is not at the latest schema: run 'hokan db upgrade'")
        rt.keyring.verify_master()
        settings = rt.settings
    uvicorn.run(
        "hokan.app:app_factory",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        http=GuardedHttpToolsProtocol,  # header read timeout (slowloris, EDGE-4)
        timeout_keep_alive=5,
    )
