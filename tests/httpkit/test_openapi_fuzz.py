"""Schemathesis over the whole OpenAPI document, against the ASGI app (issue 12 D).

No operation may answer 5xx, and every answer must be documented: its status, its
content type and its body's schema. Examples are bounded so the run stays short.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hokan.app import create_app
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 12


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the engines' own bounds are tested in test_requests.py


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    # Fuzzed input trips the WAF; a ban would leave nothing but 403s to test.
    return settings_factory(ips_exempt_ips="127.0.0.1")


def _loopback(app: Any) -> Callable[..., Any]:
    # Admission (EDGE-2) serves loopback callers in tests, not "testclient".
    async def shim(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "client": ("127.0.0.1", 50000)}
        await app(scope, receive, send)

    return shim


def test_every_operation_answers_as_documented(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    app = create_app(runtime=runtime)
    schema = schemathesis.openapi.from_asgi("/openapi.json", _loopback(app))
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @examples(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers=t.headers)
            try:
                case.validate_response(response, checks=CHECKS)
            except BaseException as exc:  # schemathesis raises exception groups
                where = f"{case.operation.method.upper()} {case.operation.path}"
                failures.setdefault(where, " ".join(str(exc).split())[:300])

        run()
    assert not failures, "\n".join(f"{k}: {v}" for k, v in sorted(failures.items()))
