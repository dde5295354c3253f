"""create_app(): the middleware stack and the routers, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from hokan import __version__, health
from hokan.audit import api as audit_api
from hokan.audit import operator_api as audit_operator_api
from hokan.backup import operator_api as backup_operator_api
from hokan.certificates import api as certificates_api
from hokan.console import routes as console_routes
from hokan.edge.admission import AdmissionMiddleware
from hokan.edge.ips import api as ips_api
from hokan.edge.ips.middleware import IpsMiddleware
from hokan.edge.middleware import RequestContextMiddleware
from hokan.edge.terminal import TerminalIdentityMiddleware
from hokan.edge.waf.middleware import WafMiddleware
from hokan.httpkit import docs, errors
from hokan.httpkit.headers import SecurityHeadersMiddleware
from hokan.httpkit.responses import JsonResponse
from hokan.identity import api as identity_api
from hokan.identity import grants_api, operator_api, tokens_api
from hokan.jobs import api as jobs_api
from hokan.kit.logging import configure_logging
from hokan.lifecycle import api as lifecycle_api
from hokan.monitoring import api as monitoring_api
from hokan.monitoring import api_maintenance, api_metrics, api_status
from hokan.monitoring.gate import ServiceGate
from hokan.monitoring.middleware import RequestMetricsMiddleware
from hokan.monitoring.state import ServiceState
from hokan.records import api as records_api
from hokan.records.attachments import api as attachments_api
from hokan.reports import api as reports_api
from hokan.runtime import Runtime
from hokan.settings import Settings, load_settings
from hokan.tenants import api as tenants_api
from hokan.vault import api as vault_api

DESCRIPTION = """Hokan (保管) stores Japanese business applications' system data per tenant,
encrypted at rest. Authenticate with `Authorization: Bearer <API token>`.
Errors are `{"error": code, "detail": message}` with stable codes."""


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else load_settings())
    runtime = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.keyring.verify_master()  # refuse to serve under the wrong master key
        # More threads than this only queue on the GIL and the database (measured: bench/).
        to_thread.current_default_thread_limiter().total_tokens = runtime.settings.threads
        yield
        runtime.close()

    app = FastAPI(
        title="Hokan",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=JsonResponse,
        lifespan=lifespan,
        docs_url=None,  # served by edge.docs, from local assets
        redoc_url=None,
    )
    app.state.runtime = runtime
    errors.install(app)
    docs.install(app)
    # The record routes first: the router tries routers in order, and these carry the
    # traffic (no two routes of the app match one request: tests/httpkit/test_route_index.py).
    app.include_router(records_api.router)
    app.include_router(attachments_api.router)
    app.include_router(health.router)
    app.include_router(api_metrics.router)
    app.include_router(identity_api.router)
    app.include_router(grants_api.router)
    app.include_router(tokens_api.router)
    app.include_router(operator_api.router)
    app.include_router(tenants_api.router)
    app.include_router(lifecycle_api.router)
    app.include_router(audit_api.router)
    app.include_router(audit_operator_api.router)
    app.include_router(vault_api.router)
    app.include_router(certificates_api.router)
    app.include_router(ips_api.router)
    app.include_router(jobs_api.router)
    app.include_router(monitoring_api.router)
    app.include_router(api_status.router)
    app.include_router(api_maintenance.router)
    app.include_router(reports_api.router)
    app.include_router(reports_api.tenant_router)
    app.include_router(backup_operator_api.router)
    console_routes.install(app)  # the web console (ADR 0026)
    # What is down now (incidents, maintenance), read at most once a second (MON-4).
    app.state.service_state = service_state = ServiceState(lambda: runtime.db)
    # Edge middleware, innermost first (each add wraps the ones before it). Requests
    # flow: request metrics → request id/timing → security headers → client-certificate
    # identity → geo restriction (admission) → IPS → WAF → outage/maintenance gate → routes.
    app.add_middleware(ServiceGate, state=service_state)  # 6: outages and maintenance
    app.add_middleware(WafMiddleware, runtime=runtime)  # 5: WAF, just before routing
    app.add_middleware(IpsMiddleware, runtime=runtime)  # 4: rate limits, bans, slow bodies
    app.add_middleware(AdmissionMiddleware, runtime=runtime)  # 3: geo restriction, client IP
    app.add_middleware(TerminalIdentityMiddleware, runtime=runtime)  # 2: client certificate
    app.add_middleware(SecurityHeadersMiddleware)  # on every response, refusals included
    app.add_middleware(RequestContextMiddleware)  # 1: request id and timing
    app.add_middleware(RequestMetricsMiddleware)  # 0: /metrics counts every answer, refusals too
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (one per worker process)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format.value)
    return create_app(settings)
