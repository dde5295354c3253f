"""The public status page (UI-3): Japanese first, English on request, components from the
ledger (unknown when the prober is silent), incidents with their timeline, maintenance;
the same data as JSON and Atom; no tenant and no host ever named; no external asset."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from defusedxml import ElementTree
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from hokan.runtime import Runtime
from tests.conftest import TenantHandle
from tests.monitoring.conftest import add_incident, add_span, add_window, flush_state

ATOM = "{http://www.w3.org/2005/Atom}"
SECRET_HOST = "db-primary.internal.example"


def test_the_page_is_japanese_first_and_english_on_request(client: TestClient) -> None:
    ja = client.get("/status")
    assert ja.status_code == 200 and ja.headers["content-type"].startswith("text/html")
    assert '<html lang="ja">' in ja.text and "稼働状況" in ja.text
    assert "現在、障害は発生していません" in ja.text
    assert "予定されているメンテナンスはありません" in ja.text
    by_header = client.get("/status", headers={"Accept-Language": "en-US,en;q=0.9"})
    by_query = client.get("/status?lang=en", headers={"Accept-Language": "ja"})
    for en in (by_header, by_query):
        assert '<html lang="en">' in en.text and "Hokan status" in en.text
        assert "No incidents reported." in en.text and "稼働状況" not in en.text
    assert client.get("/status?lang=fr").status_code == 400


def test_the_page_loads_nothing_from_elsewhere_and_its_style_runs_under_the_csp(
    client: TestClient,
) -> None:
    r = client.get("/status")
    csp = r.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce and f'<style nonce="{nonce.group(1)}">' in r.text
    assert "script-src" not in csp and "default-src 'none'" in csp
    assert "<script" not in r.text
    # Only relative links: no asset, font or script from another origin.
    assert not re.search(r'(src|href)="(https?:)?//', r.text)
    assert 'name="viewport"' in r.text


def test_components_show_the_ledgers_latest_state_and_unknown_when_silent(
    runtime: Runtime, client: TestClient
) -> None:
    add_span(runtime, "api", "down", ago=timedelta(minutes=30))
    add_span(runtime, "api", "up")
    add_span(runtime, "system_db", "up")
    add_span(runtime, "blob_store", "down")
    add_span(runtime, "smtp", "up", ago=timedelta(minutes=30))  # the prober went quiet
    add_span(runtime, "vault_store_2", "degraded")
    data = client.get("/status.json").json()
    states = {c["name"]: c["state"] for c in data["components"]}
    assert states["api"] == "up" and states["system_db"] == "up"
    assert states["blob_store"] == "down" and states["vault_store_2"] == "degraded"
    assert states["smtp"] == "unknown"  # stale: never counted as up
    assert states["keyring_db"] == "unknown"  # never probed yet
    assert data["overall"] == "partial_outage"
    page = client.get("/status").text
    assert "ファイル保管" in page and "停止" in page and "不明" in page


def test_an_incident_with_its_timeline_in_both_languages(
    runtime: Runtime, client: TestClient
) -> None:
    incident = add_incident(
        runtime,
        outage="full",
        updates=[
            ("detected", "API の応答がありません", "The API does not answer"),
            ("update", "データベースを再起動しています", "Restarting the database"),
        ],
        cause="ディスク障害",
    )
    flush_state(client)
    ja = client.get("/status").text
    assert incident.number in ja and "完全停止" in ja and "サービス全体で障害が発生" in ja
    assert "データベースを再起動しています" in ja and "ディスク障害" in ja and "JST" in ja
    en = client.get("/status?lang=en").text
    assert "Restarting the database" in en and "Full outage" in en
    data = client.get("/status.json").json()
    assert data["overall"] == "full_outage"
    (item,) = data["incidents"]
    assert item["number"] == incident.number and [u["kind"] for u in item["timeline"]] == [
        "detected",
        "update",
    ]


def test_maintenance_shows_with_its_emergency_mark(runtime: Runtime, client: TestClient) -> None:
    add_window(runtime, start=timedelta(days=15), reason_ja="ストレージ交換")
    data = client.get("/status.json").json()
    (window,) = data["maintenance"]
    assert window["status"] == "scheduled" and window["reason"]["ja"] == "ストレージ交換"
    page = client.get("/status").text
    assert "メンテナンス予定" in page and "ストレージ交換" in page and "予定" in page


def test_nothing_names_a_tenant_or_a_host(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant(code="acme-secret")
    name = t.tenant.name
    add_window(
        runtime, tenant_id=t.id, start=timedelta(days=15), reason_ja=f"{name} 様専用環境の移行"
    )
    add_incident(
        runtime,
        outage="partial",
        functions=["records"],
        tenant_ids=[str(t.id)],
        title_ja=f"{name} の環境で障害 ({SECRET_HOST})",
        title_en=f"acme-secret down on {SECRET_HOST}",
        updates=[("update", f"{SECRET_HOST} を再起動", f"restarting {SECRET_HOST}")],
    )
    add_span(runtime, "system_db", "down", last_error=f"connect to {SECRET_HOST} refused")
    add_span(runtime, "backup_nas01.internal.example", "up")
    flush_state(client)
    pages = [
        client.get("/status").text,
        client.get("/status?lang=en").text,
        client.get("/status.json").text,
        client.get("/status/feed.atom").text,
        client.get("/status/feed.atom?lang=en").text,
    ]
    for text in pages:
        for secret in (name, t.tenant.code, str(t.id), SECRET_HOST, "nas01", "internal"):
            assert secret not in text, secret
    assert "一部のお客様" in pages[0] and "バックアップ先 1" in pages[0]
    assert "some customers" in pages[1]


def test_json_and_atom_parse_and_carry_incidents_and_maintenance(
    runtime: Runtime, client: TestClient
) -> None:
    incident = add_incident(runtime, outage="partial", functions=["attachments"])
    window = add_window(runtime, start=timedelta(days=15))
    flush_state(client)
    data = client.get("/status.json").json()
    assert set(data) >= {"components", "incidents", "maintenance", "availability", "overall"}
    months = data["availability"]  # the availability engine's last 12 months, newest first
    assert months and all({"month", "availability", "planned_minutes"} <= set(m) for m in months)
    feed = client.get("/status/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(feed.content)
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}updated") is not None and root.find(f"{ATOM}id") is not None
    entries = root.findall(f"{ATOM}entry")
    ids = {e.find(f"{ATOM}id").text for e in entries}  # type: ignore[union-attr]
    assert ids == {f"urn:uuid:{incident.id}", f"urn:uuid:{window.id}"}
    titles = " ".join(e.find(f"{ATOM}title").text or "" for e in entries)  # type: ignore[union-attr]
    assert incident.number in titles and "メンテナンス" in titles
    for e in entries:
        assert e.find(f"{ATOM}updated") is not None


def test_the_page_still_answers_when_its_data_cannot_be_read(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hokan.monitoring import status_page

    def down(*_: object, **__: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(status_page, "collect", down)
    r = client.get("/status")
    assert r.status_code == 503 and "稼働状況のデータを読み出せません" in r.text
    assert client.get("/status.json").json()["readable"] is False
    ElementTree.fromstring(client.get("/status/feed.atom").content)  # still a feed
