"""The WAF evaluation corpus: attack payloads per family, placed and encoded; benign data.

Attack payloads (``attacks/<family>.txt``, one per line) were written for this
project, many after the well-known shapes collected in PayloadsAllTheThings
(MIT licence, github.com/swisskyrepo/PayloadsAllTheThings), the OWASP XSS
filter-evasion cheat sheet (CC BY-SA) and the Log4Shell advisories. Each is
placed in a query parameter (plain, double URL-encoded), a path segment, a JSON
value (nested), a header, a cookie and a form field, so one payload is seven requests.

The benign side is Faker ``ja_JP`` with a fixed seed (staff records, guard
shifts, customer notes, addresses, companies, e-mail, phones, URLs) plus
``benign/tricky.txt``: hand-written text that looks like an attack to naive rules.

Requests are ASGI scopes judged by :class:`hokan.edge.waf.service.Waf` directly,
so thousands of them run in a second; the HTTP path is tested separately.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hokan.edge.waf.engine import verdict
from hokan.edge.waf.service import Waf

HERE = Path(__file__).resolve().parent
FAMILIES = ("sqli", "xss", "lfi", "rfi", "cmdi", "php", "java", "ssti", "xml")


@dataclass(frozen=True)
class Probe:
    placement: str
    scope: dict[str, Any]
    body: bytes = b""
    content_type: str = ""


def payloads(family: str) -> list[str]:
    lines = (HERE / "attacks" / f"{family}.txt").read_text("utf-8").splitlines()
    return [line for line in lines if line.strip()]


def tricky() -> list[str]:
    return (HERE / "benign" / "tricky.txt").read_text("utf-8").splitlines()


def scope(
    path: str = "/api/v1/collections/staff/records/rec-1",
    query: str = "",
    headers: list[tuple[bytes, bytes]] | None = None,
    method: str = "GET",
) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode("latin-1", "replace") if path.isascii() else quote(path).encode(),
        "query_string": query.encode("ascii"),
        "headers": [(b"host", b"hokan.example"), *(headers or [])],
    }


def _header_value(payload: str) -> bytes:
    if payload.isascii() and payload.isprintable():
        return payload.encode("ascii")
    return quote(payload, safe="").encode("ascii")


def placements(payload: str) -> Iterator[Probe]:
    """One payload in every place a client can put it."""
    q = quote(payload, safe="")
    yield Probe("query", scope(query=f"q={q}&page=1"))
    yield Probe("path", scope(path=f"/api/v1/collections/staff/records/{q}"))
    yield Probe("query-double-encoded", scope(query=f"q={quote(q, safe='')}"))
    doc = {"data": {"name": "山田太郎", "notes": [{"text": payload}]}}
    yield Probe(
        "json",
        scope(method="PUT", headers=[(b"content-type", b"application/json")]),
        json.dumps(doc, ensure_ascii=False).encode("utf-8"),
        "application/json",
    )
    yield Probe("header", scope(headers=[(b"user-agent", _header_value(payload))]))
    yield Probe("cookie", scope(headers=[(b"cookie", f"theme=dark; pref={q}".encode())]))
    yield Probe(
        "form",
        scope(method="POST", headers=[(b"content-type", b"application/x-www-form-urlencoded")]),
        f"comment={q}&ok=1".encode(),
        "application/x-www-form-urlencoded",
    )


def blocked(waf: Waf, probe: Probe) -> tuple[bool, list[str]]:
    hits = waf.inspect_head(probe.scope)
    if probe.body:
        hits += waf.inspect_body(probe.content_type, probe.body)
    result = verdict(hits, waf.threshold)
    return result.blocked, result.rules


def detection(waf: Waf, family: str) -> tuple[float, list[tuple[str, str]]]:
    """Share of (payload, placement) requests blocked, and the misses."""
    total, misses = 0, []
    for payload in payloads(family):
        for probe in placements(payload):
            total += 1
            if not blocked(waf, probe)[0]:
                misses.append((probe.placement, payload))
    return (total - len(misses)) / total, misses


# --------------------------------------------------------------------------- benign


def _faker(seed: int) -> Any:
    from faker import Faker

    fake = Faker("ja_JP")
    Faker.seed(seed)
    random.seed(seed)
    return fake


_NOTES = [
    "本日の巡回は異常なし。次回は{time}に実施予定。",
    "お客様（{name}様）より「{company}の担当者に折り返し連絡がほしい」とのこと。",
    "{address}の現場にて、鍵の受け渡しを行いました・確認済み。",
    "交代要員：{name}（{phone}）－遅刻の連絡あり",
    "We'll select the best guard from the list for {company}.",
    "Please update the shift table; {name} can't come on Monday.",
    "Contact {email} or call {phone} (9:00～18:00).",
    "見積もり {price}円（税込）、支払いは月末締め翌月末払い。",
    "{name}さんの入館証を再発行 - 旧カードは無効化済み",
    "注意: 夜間は通用口（B1F）のみ利用可。詳細は {url} を参照。",
]


def benign_records(count: int = 1000, seed: int = 20240401) -> list[dict[str, Any]]:
    """Staff records and guard shifts, as a Japanese business application would store them."""
    fake = _faker(seed)
    out: list[dict[str, Any]] = []
    for i in range(count):
        values = {
            "name": fake.name(),
            "company": fake.company(),
            "address": fake.address().replace("\n", " "),
            "phone": fake.phone_number(),
            "email": fake.email(),
            "url": fake.url(),
            "time": fake.time(pattern="%H:%M"),
            "price": f"{fake.random_int(1000, 999999):,}",
        }
        note = random.choice(_NOTES).format(**values)
        if i % 2:
            out.append(
                {
                    "kind": "staff",
                    "name": values["name"],
                    "kana": fake.kana_name(),
                    "romaji": fake.romanized_name(),
                    "company": values["company"],
                    "department": random.choice(["営業部", "総務部", "警備第一課", "R&D部門"]),
                    "job": fake.job(),
                    "address": {"postcode": fake.postcode(), "full": values["address"]},
                    "phone": values["phone"],
                    "email": values["email"],
                    "hired": fake.date(),
                    "note": note,
                    "bio": fake.text(max_nb_chars=160),
                }
            )
        else:
            out.append(
                {
                    "kind": "shift",
                    "site": f"{values['company']} {fake.city()}事業所",
                    "guard": values["name"],
                    "start": f"{fake.date()}T{values['time']}:00+09:00",
                    "hours": random.choice([4, 8, 12]),
                    "patrol": [fake.street_address() for _ in range(2)],
                    "report": note,
                    "url": values["url"],
                    "tags": random.sample(["夜勤", "日勤", "応援", "研修", "臨時"], 2),
                }
            )
    return out


def benign_probes(count: int = 1000) -> Iterator[Probe]:
    """Benign requests: JSON records, their values in queries and forms, tricky text."""
    for record in benign_records(count):
        yield Probe(
            "json",
            scope(method="PUT", headers=[(b"content-type", b"application/json")]),
            json.dumps(record, ensure_ascii=False).encode("utf-8"),
            "application/json",
        )
        text = str(record.get("note") or record.get("report"))
        yield Probe("query", scope(query=f"q={quote(text, safe='')}&limit=50"))
        form = "&".join(
            f"{k}={quote(str(v), safe='')}" for k, v in record.items() if isinstance(v, str)
        )
        yield Probe(
            "form",
            scope(method="POST", headers=[(b"content-type", b"application/x-www-form-urlencoded")]),
            form.encode(),
            "application/x-www-form-urlencoded",
        )
    ua = (
        b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        b"Chrome/124.0 Safari/537.36"
    )
    for text in tricky():
        q = quote(text, safe="")
        yield Probe("query", scope(query=f"q={q}"))
        yield Probe("path", scope(path=f"/api/v1/collections/staff/records/{q}"))
        yield Probe(
            "json",
            scope(
                method="PUT", headers=[(b"content-type", b"application/json"), (b"user-agent", ua)]
            ),
            json.dumps({"note": text, "tags": [text]}, ensure_ascii=False).encode(),
            "application/json",
        )
        yield Probe(
            "form",
            scope(method="POST", headers=[(b"content-type", b"application/x-www-form-urlencoded")]),
            f"comment={q}".encode(),
            "application/x-www-form-urlencoded",
        )
        yield Probe(
            "header",
            scope(headers=[(b"referer", f"https://app.example.co.jp/search?q={q}".encode())]),
        )


def false_positives(waf: Waf, count: int = 1000) -> tuple[float, int, list[tuple[str, list[str]]]]:
    """False-positive rate over the benign probes, their number, and the false positives."""
    total, fps = 0, []
    for probe in benign_probes(count):
        total += 1
        hit, rules = blocked(waf, probe)
        if hit:
            fps.append((probe.placement, rules))
    return len(fps) / total, total, fps
