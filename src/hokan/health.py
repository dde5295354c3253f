"""Public probes: ``/healthz`` (process alive) and ``/readyz`` (dependencies reachable)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from anyio import to_thread
from fastapi import Request

from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.kit.errors import HokanError
from hokan.runtime import Runtime

router = Router(tags=["health"])
log = logging.getLogger("hokan.health")
# Never written: asking whether it exists proves the store answers.
_PROBE_KEY = "health/readyz-probe"


@router.get("/healthz", summary="Liveness")
async def healthz() -> JsonResponse:
    """The process is up and serving."""
    return JsonResponse({"status": "ok"})


async def _probe(name: str, probe: Callable[[], object]) -> str:
    try:
        await to_thread.run_sync(probe)  # always a thread: a probe may hang
        return "ok"
    except HokanError as exc:
        return exc.code
    except Exception as exc:  # a probe must report, never raise
        log.warning(
            "readiness probe failed",
            extra={"fields": {"check": name, "exc_type": type(exc).__name__}},
        )
        return "unreachable"


async def _redis(runtime: Runtime) -> str:
    """``ok``, ``unreachable`` or ``not_configured`` (ADR 0012: logins refuse, the IPS
    counts in memory while Redis is down — the instance stays in service)."""
    client = runtime.redis
    if client is None:
        return "not_configured"
    return await _probe("redis", client.ping)


@router.get("/readyz", summary="Readiness")
async def readyz(request: Request) -> JsonResponse:
    """The system database, the keyring database and the master key are usable (else 503).

    ``components`` reports what only some functions need — the vault's fragment
    stores (``ok``, ``degraded`` with fewer than all but at least k, ``unavailable``)
    the blob store and Redis — without taking the whole instance out of service.
    """
    runtime: Runtime = request.app.state.runtime  # the probes need the whole runtime
    checks: dict[str, str] = {}
    for name, probe in (
        ("database", runtime.db.ping),
        ("keyring_database", runtime.keyring_db.ping),
        ("master_key", runtime.keyring.verify_master),
    ):
        checks[name] = await _probe(name, probe)
    stores = runtime.vault_stores
    states = await to_thread.run_sync(stores.states)  # schema and store identity, not a ping
    reachable = states.count("ok")
    components: dict[str, object] = {
        "vault_stores": "ok"
        if reachable == stores.n
        else ("degraded" if reachable >= runtime.settings.vault_k else "unavailable"),
        "vault_stores_reachable": f"{reachable}/{stores.n}",
        "blob_store": await _probe("blob_store", lambda: runtime.blobs.exists(_PROBE_KEY)),
        "redis": await _redis(runtime),
    }
    if reachable < stores.n:  # which store is what, for the operator
        components["vault_store_states"] = {str(i): st for i, st in enumerate(states, 1)}
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks, "components": components},
        status_code=200 if ready else 503,
    )
