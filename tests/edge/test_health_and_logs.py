"""Probes, request ids and structured logs that never carry secrets or payloads."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hokan.app import create_app
from hokan.kit import crypto
from hokan.kit.logging import JsonFormatter
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(logging.Filter("hokan"))  # not the test client's own httpx log
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "keyring_database": "ok", "master_key": "ok"}
    assert r.json()["components"] == {
        "vault_stores": "ok",
        "vault_stores_reachable": "3/3",
        "blob_store": "ok",
        "redis": "not_configured",
    }


def test_readyz_reports_a_lost_vault_store_without_failing_the_instance(
    client: TestClient, runtime: Runtime
) -> None:
    """One store down: the vault still reads (k of n), the instance stays in service."""
    from sqlalchemy import create_engine

    lost = runtime.vault_stores.dbs[0]
    original = lost.engine
    lost.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        r = client.get("/readyz")
    finally:
        lost.engine.dispose()
        lost.engine = original
    assert r.status_code == 200
    assert r.json()["components"]["vault_stores"] == "degraded"
    assert r.json()["components"]["vault_stores_reachable"] == "2/3"


def test_app_refuses_to_start_under_the_wrong_master_key(
    runtime: Runtime, settings: Settings
) -> None:
    from hokan.keyring.errors import MasterKeyMismatch

    wrong = Runtime(
        settings.model_copy(
            update={"master_key": SecretStr(crypto.b64encode_key(crypto.random_key()))}
        )
    )
    with pytest.raises(MasterKeyMismatch), TestClient(create_app(runtime=wrong)):
        pass


def test_request_id_is_kept_or_made(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123-def-456"}).headers["x-request-id"]
        == "abc-123-def-456"
    )
    made = client.get("/healthz", headers={"X-Request-ID": "bad id; DROP"}).headers["x-request-id"]
    assert made != "bad id; DROP" and len(made) == 16


def test_logs_are_json_lines_without_secrets(
    client: TestClient, make_tenant: Callable[..., TenantHandle], captured_logs: io.StringIO
) -> None:
    t = make_tenant()
    secret_value = "マイナンバー風の秘密-123456789012"
    client.put(
        "/api/v1/collections/staff/records/a?note=" + "q",
        json={"v": secret_value},
        headers={**t.headers, "X-Request-ID": "req-00000001"},
    )
    client.get("/api/v1/collections/staff/records/a", headers=t.headers)
    client.get(
        "/api/v1/collections/staff/records/a", headers={"Authorization": f"Bearer {t.token[:-1]}X"}
    )
    text = captured_logs.getvalue()
    lines = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "hokan.access"]
    assert len(access) >= 3
    assert access[0]["request_id"] == "req-00000001"
    assert {"method", "path", "status", "duration_ms"} <= set(access[0])
    assert secret_value not in text
    assert t.token not in text and t.token[12:] not in text
    assert "note=" not in text  # query strings are not logged


def test_client_going_away_mid_upload_is_not_an_error(
    live_server: object, make_tenant: Callable[..., TenantHandle], captured_logs: io.StringIO
) -> None:
    import socket
    import time

    from tests.conftest import LiveServer

    assert isinstance(live_server, LiveServer)
    t = make_tenant()
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"PUT /api/v1/collections/staff/records/gone HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {t.token}\r\n".encode()
            + b'Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"a": "'
        )
        time.sleep(0.3)
    time.sleep(0.5)
    lines = [orjson.loads(x) for x in captured_logs.getvalue().splitlines() if x.strip()]
    assert not [x for x in lines if x["level"] == "error"], lines
    with httpx.Client(base_url=live_server.url) as c:
        assert c.get("/api/v1/collections/staff/records/gone", headers=t.headers).status_code == 404
