"""``/api/v1/operator/jobs``: operators see the jobs and their runs; every call is audited
under its action (success, refusal, error), tenants never see job history."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from hokan.jobs import runner
from hokan.jobs.registry import Registry
from hokan.jobs.worker import WorkerHost
from hokan.runtime import Runtime
from tests.conftest import OperatorHandle, TenantHandle
from tests.identity.test_operators import op_login
from tests.route_audit import only, refused, trail

JOBS = "/api/v1/operator/jobs"


def test_operators_list_jobs_and_read_their_runs(
    runtime: Runtime,
    ops_client: TestClient,
    make_operator: Callable[..., OperatorHandle],
) -> None:
    auditor = op_login(ops_client, make_operator(("auditor",)))
    support = op_login(ops_client, make_operator(("operations_support",)))
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve)
    runner.execute(host, Registry(runtime.settings).get("vault.purge_due"), trigger="manual")

    with trail(runtime) as found:
        listed = ops_client.get(JOBS, headers=auditor)
    assert listed.status_code == 200
    only(found, "job.list", "success")
    by_name = {j["job"]: j for j in listed.json()}
    assert by_name["audit.daily_review"]["schedule"] == "30 0 * * *"
    assert by_name["audit.daily_review"]["next_run"].endswith("Z")
    assert by_name["vault.purge_due"]["last_success"] is not None
    assert by_name["audit.archive"]["enabled"] is False

    with trail(runtime) as found:
        history = ops_client.get(f"{JOBS}/vault.purge_due/runs", headers=auditor)
    only(found, "job.history", "success")
    (run,) = history.json()
    assert run["status"] == "ok" and run["trigger"] == "manual" and run["job"] == "vault.purge_due"

    with trail(runtime) as found:
        missing = ops_client.get(f"{JOBS}/nope/runs", headers=auditor)
    assert missing.status_code == 404 and missing.json()["error"] == "job_not_found"
    only(found, "job.history", "error")

    with trail(runtime) as found:
        assert ops_client.get(JOBS, headers=support).status_code == 403
    refused(found, "operator.role_denied", "job.list")
    with trail(runtime) as found:
        assert ops_client.get(f"{JOBS}/vault.purge_due/runs", headers=support).status_code == 403
    refused(found, "operator.role_denied", "job.history")


def test_tenants_and_strangers_never_see_jobs(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    assert client.get(JOBS, headers=t.headers).status_code in (401, 403)
    assert client.get(JOBS).status_code in (401, 403)
