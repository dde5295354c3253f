"""``hokan serve``: the HTTP API under uvicorn."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import typer
import uvicorn

from hokan import migrations
from hokan.audit import checkpoints as audit_checkpoints
from hokan.certificates import service as certificates
from hokan.cli._common import fail, runtime
from hokan.edge import tls as edge_tls
from hokan.edge.ips.protocol import GuardedHttpToolsProtocol
from hokan.kit.db import Database
from hokan.runtime import Runtime
from hokan.settings import Settings


def serve(
    host: str = typer.Option(None, help="Bind address (default HOKAN_HOST)"),
    port: int = typer.Option(None, help="Port (default HOKAN_PORT)"),
    workers: int = typer.Option(None, help="Worker processes (default HOKAN_WORKERS)"),
    tls: bool = typer.Option(
        False, "--tls", help="Terminate TLS here and require terminal certificates (no nginx)"
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
    stop = start_checkpointer(settings)
    try:
        uvicorn.run("hokan.app:app_factory", **options)
    finally:
        stop.set()


def start_checkpointer(settings: Settings) -> threading.Event:
    """Sign audit chain heads every HOKAN_AUDIT_CHECKPOINT_SECONDS on a daemon thread
    (ADR 0011; a worker process will take this over). Set the returned event to stop."""
    rt = Runtime(settings)
    stop = threading.Event()

    def job() -> None:
        audit_checkpoints.run_once(rt.db, rt.keyring, rt.blobs)

    thread = threading.Thread(
        target=audit_checkpoints.run_every,
        args=(settings.audit_checkpoint_seconds, job, stop),
        name="hokan-audit-checkpoints",
        daemon=True,
    )
    thread.start()
    return stop


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
