"""``hokan serve``: the HTTP API under uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import uvicorn

from hokan import migrations
from hokan.certificates import service as certificates
from hokan.cli._common import fail, runtime
from hokan.cli.worker import start_in_background
from hokan.edge import tls as edge_tls
from hokan.edge.ips.protocol import GuardedHttpToolsProtocol
from hokan.jobs.registry import Registry
from hokan.kit.db import Database
from hokan.monitoring import snapshots as metrics_snapshots
from hokan.runtime import Runtime


def serve(
    host: str = typer.Option(None, help="Bind address (default HOKAN_HOST)"),
    port: int = typer.Option(None, help="Port (default HOKAN_PORT)"),
    workers: int = typer.Option(None, help="Worker processes (default HOKAN_WORKERS)"),
    tls: bool = typer.Option(
        False, "--tls", help="Terminate TLS here and require terminal certificates (no nginx)"
    ),
    no_worker: bool = typer.Option(
        False,
        "--no-worker",
        help="Do not run the scheduled jobs in this process (production: run 'hokan worker')",
    ),
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
        files = tls_files(rt) if tls else None
        Registry(settings)  # a bad job schedule stops start-up, naming the setting
    options: dict[str, Any] = {
        "factory": True,
        "host": host or settings.host,
        "port": port or settings.port,
        "workers": workers or settings.workers,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        "http": GuardedHttpToolsProtocol,  # header read timeout (slowloris, EDGE-4)
        "timeout_keep_alive": 5,
    }
    if files is not None:
        options.update(edge_tls.uvicorn_options(**files))
    # Several workers: Prometheus multiprocess mode, a fresh DATA_DIR/prometheus for this
    # run, set before the workers (and the in-process job worker) write a value.
    metrics_snapshots.prepare(settings.data_dir, options["workers"])
    # The scheduled controls run here too unless a separate 'hokan worker' runs them;
    # with both, the leader lock lets exactly one schedule (ADR 0017).
    background = None if no_worker else start_in_background(Runtime(settings))
    try:
        uvicorn.run("hokan.app:app_factory", **options)
    finally:
        if background is not None:
            background.stop()


def tls_files(rt: Runtime) -> dict[str, Path]:
    """The server certificate and key, and fresh copies of the CA and CRL to verify clients."""
    s = rt.settings
    if s.tls_cert_file is None or s.tls_key_file is None:
        fail(
            "--tls needs HOKAN_TLS_CERT_FILE and HOKAN_TLS_KEY_FILE "
            "(e.g. from 'hokan cert server --name HOST --out-dir DIR')"
        )
    s.tls_dir.mkdir(parents=True, exist_ok=True)
    client_ca, crl = s.tls_dir / "client-ca.pem", s.tls_dir / "crl.pem"
    client_ca.write_bytes(rt.ca.certificate_pem())
    with rt.db.session(system=True) as session:
        crl.write_bytes(certificates.crl(session, rt.ca, s.crl_days))
    return {"cert": s.tls_cert_file, "key": s.tls_key_file, "client_ca": client_ca, "crl": crl}
