"""Records over HTTP (REC-1, REC-2, REC-3): CRUD, ETags, schemas, limits, listing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.conftest import TenantHandle

BASE = "/api/v1/collections/staff/records"


def test_create_read_replace_patch_delete(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    r = client.put(
        f"{BASE}/s-1", json={"name": "山田 太郎", "kana": "ヤマダ タロウ"}, headers=t.headers
    )
    assert r.status_code == 201
    assert r.headers["etag"] == '"1"'
    assert r.headers["location"] == f"{BASE}/s-1"
    assert r.json()["data"] == {"name": "山田 太郎", "kana": "ヤマダ タロウ"}

    r = client.get(f"{BASE}/s-1", headers=t.headers)
    assert r.status_code == 200
    assert r.json()["revision"] == 1
    assert r.json()["data"]["name"] == "山田 太郎"

    r = client.put(
        f"{BASE}/s-1", json={"name": "山田 花子"}, headers={**t.headers, "If-Match": '"1"'}
    )
    assert r.status_code == 200
    assert r.headers["etag"] == '"2"'

    r = client.patch(
        f"{BASE}/s-1",
        content=b'{"kana": "\xe3\x83\x8f\xe3\x83\x8a\xe3\x82\xb3", "name": null}',
        headers={**t.headers, "Content-Type": "application/merge-patch+json", "If-Match": '"2"'},
    )
    assert r.status_code == 200
    assert r.json()["data"] == {"kana": "ハナコ"}
    assert r.json()["revision"] == 3

    r = client.delete(f"{BASE}/s-1", headers={**t.headers, "If-Match": '"3"'})
    assert r.status_code == 204
    assert client.get(f"{BASE}/s-1", headers=t.headers).json()["error"] == "record_not_found"

    revisions = client.get(f"{BASE}/s-1/revisions", headers=t.headers).json()
    assert [(x["revision"], x["operation"]) for x in revisions] == [
        (1, "create"),
        (2, "replace"),
        (3, "patch"),
        (4, "delete"),
    ]
    old = client.get(f"{BASE}/s-1/revisions/1", headers=t.headers).json()
    assert old["data"] == {"name": "山田 太郎", "kana": "ヤマダ タロウ"}

    # Re-creating a deleted id keeps counting revisions.
    r = client.put(f"{BASE}/s-1", json={"name": "再登録"}, headers=t.headers)
    assert r.status_code == 201
    assert r.json()["revision"] == 5


def test_post_creates_with_server_id(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    r = client.post(BASE, json={"name": "佐藤"}, headers=t.headers)
    assert r.status_code == 201
    key = r.json()["id"]
    assert r.headers["location"] == f"{BASE}/{key}"
    assert client.get(r.headers["location"], headers=t.headers).json()["data"] == {"name": "佐藤"}


def test_stale_if_match_is_412_and_loses_nothing(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    client.put(f"{BASE}/a", json={"v": 1}, headers=t.headers)
    client.put(f"{BASE}/a", json={"v": 2}, headers={**t.headers, "If-Match": '"1"'})
    r = client.put(f"{BASE}/a", json={"v": "stale"}, headers={**t.headers, "If-Match": '"1"'})
    assert r.status_code == 412
    assert r.json()["error"] == "stale_revision"
    assert r.json()["current_revision"] == 2
    r = client.patch(f"{BASE}/a", json={"v": "stale"}, headers={**t.headers, "If-Match": '"1"'})
    assert r.status_code == 412
    r = client.delete(f"{BASE}/a", headers={**t.headers, "If-Match": 'W/"1"'})
    assert r.status_code == 412
    r = client.put(f"{BASE}/a", json={"v": "x"}, headers={**t.headers, "If-Match": "garbage"})
    assert r.status_code == 412
    current = client.get(f"{BASE}/a", headers=t.headers).json()
    assert current["data"] == {"v": 2}
    assert current["revision"] == 2


def test_if_none_match_star_only_creates(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    h = {**t.headers, "If-None-Match": "*"}
    assert client.put(f"{BASE}/b", json={"v": 1}, headers=h).status_code == 201
    r = client.put(f"{BASE}/b", json={"v": 2}, headers=h)
    assert r.status_code == 412
    assert r.json()["error"] == "record_exists"
    assert client.get(f"{BASE}/b", headers=t.headers).json()["data"] == {"v": 1}
    # Conditional GET
    r = client.get(f"{BASE}/b", headers={**t.headers, "If-None-Match": '"1"'})
    assert r.status_code == 304


def test_json_schema_violation_names_the_path(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    schema = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "contacts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"tel": {"type": "string", "pattern": "^[0-9-]+$"}},
                },
            },
        },
    }
    r = client.put("/api/v1/collections/staff/schema", json=schema, headers=t.headers)
    assert r.status_code == 200
    assert r.json()["schema_version"] == 1
    r = client.put(
        f"{BASE}/c",
        json={"name": "秘密の値", "contacts": [{"tel": "03-1234-5678"}, {"tel": "電話なし"}]},
        headers=t.headers,
    )
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "schema_violation"
    assert body["path"] == "/contacts/1/tel"
    assert body["keyword"] == "pattern"
    assert "電話なし" not in r.text  # the offending value is never echoed
    assert client.put(f"{BASE}/c", json={"name": "鈴木"}, headers=t.headers).status_code == 201
    # A patch that breaks the schema is refused too, and the record is unchanged.
    r = client.patch(f"{BASE}/c", json={"name": None}, headers=t.headers)
    assert r.status_code == 422
    assert r.json()["path"] == "/"
    assert client.get(f"{BASE}/c", headers=t.headers).json()["data"] == {"name": "鈴木"}
    # Removing the schema lifts the rule.
    assert (
        client.delete("/api/v1/collections/staff/schema", headers=t.headers).json()["json_schema"]
        is None
    )
    assert client.put(f"{BASE}/d", json={}, headers=t.headers).status_code == 201


def test_invalid_schema_rejected(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    r = client.put("/api/v1/collections/staff/schema", json={"type": "nonsense"}, headers=t.headers)
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_schema"


def test_malformed_bodies(client: TestClient, make_tenant: Callable[..., TenantHandle]) -> None:
    t = make_tenant()
    h = {**t.headers, "Content-Type": "application/json"}
    assert (
        client.put(f"{BASE}/x", content=b"{not json", headers=h).json()["error"] == "invalid_json"
    )
    assert (
        client.put(f"{BASE}/x", content=b"[1,2]", headers=h).json()["error"] == "record_not_object"
    )
    r = client.put(
        f"{BASE}/x",
        content=b"a=b",
        headers={**t.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415
    assert (
        client.put("/api/v1/collections/Bad Name/records/x", json={}, headers=t.headers).json()[
            "error"
        ]
        == "invalid_name"
    )
    assert client.put(f"{BASE}/..%2Fetc", json={}, headers=t.headers).status_code in (404, 422)
    assert (
        client.get(f"{BASE}?cursor=%25%25%25", headers=t.headers).json()["error"]
        == "invalid_cursor"
    )
    assert client.get(f"{BASE}?limit=0", headers=t.headers).json()["error"] == "invalid_parameter"
    assert client.get(f"{BASE}/x", headers=t.headers).status_code == 404


def test_size_limit_is_413_and_nothing_written(
    settings_factory: Callable[..., object],
    make_tenant: Callable[..., TenantHandle],
    runtime: object,
) -> None:
    from hokan.app import create_app
    from hokan.runtime import Runtime

    assert isinstance(runtime, Runtime)
    runtime.settings.max_record_bytes = 2048
    runtime.records.max_record_bytes = 2048
    t = make_tenant()
    with TestClient(create_app(runtime=runtime), client=("127.0.0.1", 50000)) as c:
        r = c.put(f"{BASE}/big", json={"blob": "あ" * 2000}, headers=t.headers)
        assert r.status_code == 413
        assert r.json()["error"] == "payload_too_large"
        assert c.get(f"{BASE}/big", headers=t.headers).status_code == 404
        # Growing past the limit through a patch is refused as well.
        assert c.put(f"{BASE}/small", json={"blob": "a"}, headers=t.headers).status_code == 201
        r = c.patch(
            f"{BASE}/small", json={"more": "x" * 1500, "other": "y" * 1000}, headers=t.headers
        )
        assert r.status_code in (413,)
        assert c.get(f"{BASE}/small", headers=t.headers).json()["revision"] == 1


def test_list_pagination_and_updated_since(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    for i in range(7):
        client.put(f"{BASE}/r{i}", json={"i": i}, headers=t.headers)
    seen: list[str] = []
    cursor = None
    while True:
        url = f"{BASE}?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=t.headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"r{i}" for i in range(7)]

    mark = datetime.now(UTC) + timedelta(milliseconds=1)
    import time

    time.sleep(0.01)
    client.put(f"{BASE}/r2", json={"i": "changed"}, headers=t.headers)
    client.delete(f"{BASE}/r4", headers=t.headers)
    since = mark.isoformat().replace("+00:00", "Z")
    page = client.get(BASE, params={"updated_since": since}, headers=t.headers).json()
    assert [x["id"] for x in page["items"]] == ["r2"]
    page = client.get(
        BASE, params={"updated_since": since, "include_deleted": "true"}, headers=t.headers
    ).json()
    assert [(x["id"], x["deleted"]) for x in page["items"]] == [("r2", False), ("r4", True)]

    collections = client.get("/api/v1/collections", headers=t.headers).json()
    assert [(c["name"], c["record_count"]) for c in collections] == [("staff", 6)]


def test_errors_are_japanese_first_with_english(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    ja = client.get(f"{BASE}/none", headers=t.headers).json()
    en = client.get(f"{BASE}/none", headers={**t.headers, "Accept-Language": "en-US"}).json()
    assert ja == {"error": "record_not_found", "detail": "レコードが見つかりません。"}
    assert en == {"error": "record_not_found", "detail": "Record not found."}


def test_openapi_documents_the_records_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/collections/{collection}/records/{record_id}" in spec["paths"]
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()  # served locally: works on a closed network
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
