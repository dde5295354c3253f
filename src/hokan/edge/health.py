"""Public probes: ``/healthz`` (process alive) and ``/readyz`` (dependencies reachable)."""

from __future__ import annotations

import logging

from anyio import to_thread
from fastapi import APIRouter

from hokan.edge.context import RuntimeDep
from hokan.edge.responses import JsonResponse
from hokan.kit.errors import HokanError

router = APIRouter(tags=["health"])
log = logging.getLogger("hokan.health")


@router.get("/healthz", summary="Liveness")
async def healthz() -> JsonResponse:
    """The process is up and serving."""
    return JsonResponse({"status": "ok"})


@router.get("/readyz", summary="Readiness")
async def readyz(runtime: RuntimeDep) -> JsonResponse:
    """The system database, the keyring database and the master key are usable."""
    checks: dict[str, str] = {}
    for name, probe in (
        ("database", runtime.db.ping),
        ("keyring_database", runtime.keyring_db.ping),
        ("master_key", runtime.keyring.verify_master),
    ):
        try:
            await to_thread.run_sync(probe)  # always a thread: a probe may hang
            checks[name] = "ok"
        except HokanError as exc:
            checks[name] = exc.code
        except Exception as exc:  # a probe must report, never raise
            log.warning(
                "readiness probe failed",
                extra={"fields": {"check": name, "exc_type": type(exc).__name__}},
            )
            checks[name] = "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
