"""The public status page's data (UI-3), and its three forms: HTML, JSON, Atom.

What is shown: each component's current state (the latest ledger row per
component; ``unknown`` when the prober has not written for
``HOKAN_STATUS_STALE_SECONDS``), the open incidents and those resolved in the
last week with their timelines, the scheduled and running maintenance, and the
monthly availability of the last 12 months.

The page is public, so it never names a tenant or a host: a per-tenant incident
or window is shown as affecting "some customers" with neither its title nor its
reason (an operator may have written a company's name there), the ledger's
error texts are not shown at all, and backup targets are numbered, not named.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hokan.kit.clock import iso, to_jst, utcnow
from hokan.models import Incident, IncidentUpdate, MaintenanceWindow, MonitorSpan
from hokan.monitoring import availability
from hokan.monitoring import components as comp

TEMPLATES = Path(__file__).parent / "templates"
RECENT = timedelta(days=7)  # resolved incidents stay on the page this long
FEED_ENTRIES = 50
FEED_ID = "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "hokan:status-feed"))
ATOM = "http://www.w3.org/2005/Atom"

_STATIC = (
    comp.API,
    comp.SYSTEM_DB,
    comp.KEYRING_DB,
    comp.VAULT,
    comp.BLOB_STORE,
    comp.REDIS,
    comp.SMTP,
)
_CORE = ("api", "system_db", "keyring_db", "vault", "blob_store")  # shown even before a probe
_VAULT_STORE = re.compile(r"^vault_store_(\d{1,3})$")
STATES = ("up", "degraded", "down", "unknown")


def L(ja: str, en: str) -> dict[str, str]:
    return {"ja": ja, "en": en}


@dataclass
class StatusData:
    generated_at: datetime
    overall: str = "unknown"  # operational, partial_outage, full_outage, maintenance, unknown
    components: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    maintenance: list[dict[str, Any]] = field(default_factory=list)
    availability: list[dict[str, Any]] = field(default_factory=list)
    readable: bool = True  # False: the state could not be read (the database is down)

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": iso(self.generated_at),
            "overall": self.overall,
            "readable": self.readable,
            "components": self.components,
            "incidents": self.incidents,
            "maintenance": self.maintenance,
            "availability": self.availability,
        }


def monthly_rows(session: Session, months: int = 12) -> list[dict[str, Any]]:
    """Monthly availability rows from the availability engine (ADR 0018), newest first:
    ``{"month": "YYYY-MM", "availability": "99.9876" or None, "planned_minutes",
    "full_minutes", "partial_minutes", "to_date"}``."""
    now = utcnow()
    last = availability.Month.of(now)
    index = last.year * 12 + last.month - 1 - (months - 1)
    first = availability.Month(index // 12, index % 12 + 1)
    rows = availability.report(session, first, last, now=now).months
    out = []
    for row in reversed(rows):
        f = row.figures
        if f.planned <= 0:
            continue  # no service units configured for that month: nothing to show
        value = f.availability
        out.append(
            {
                "month": str(row.month),
                "availability": None if value is None else f"{value:.4f}",
                "planned_minutes": f.planned,
                "full_minutes": f.full,
                "partial_minutes": f.partial,
                "to_date": row.to_date,
            }
        )
    return out


def _component_label(name: str, backups: dict[str, int]) -> dict[str, str]:
    for c in _STATIC:
        if c.name == name:
            return L(c.label_ja, c.label_en)
    if m := _VAULT_STORE.match(name):
        store = comp.vault_store(int(m.group(1)))
        return L(store.label_ja, store.label_en)
    if name.startswith("backup_"):  # a target's configured name may be a host name
        n = backups.setdefault(name, len(backups) + 1)
        return L(f"バックアップ先 {n}", f"backup target {n}")
    return L("その他の構成要素", "other component")


def _order(name: str) -> tuple[int, str]:
    statics = [c.name for c in _STATIC]
    if name in statics:
        return (statics.index(name) * 10, name)
    if m := _VAULT_STORE.match(name):
        return (statics.index("vault") * 10 + 1, f"{int(m.group(1)):04d}")
    return (1000, name)


def _components(session: Session, now: datetime, stale: timedelta) -> list[dict[str, Any]]:
    latest = (
        select(MonitorSpan.component, func.max(MonitorSpan.end).label("end"))
        .group_by(MonitorSpan.component)
        .subquery()
    )
    rows = session.execute(
        select(MonitorSpan.component, MonitorSpan.status, MonitorSpan.start, MonitorSpan.end).join(
            latest,
            (MonitorSpan.component == latest.c.component) & (MonitorSpan.end == latest.c.end),
        )
    ).all()
    found: dict[str, tuple[str, datetime]] = {}
    for name, status, start, end in rows:
        state = status if status in STATES else "unknown"
        if end < now - stale:
            state = "unknown"  # the prober has not written lately: not known to be up
        worse = STATES.index(state) if state != "unknown" else -1
        held = found.get(name)
        if held is None or worse > (STATES.index(held[0]) if held[0] != "unknown" else -1):
            found[name] = (state, start)  # two locations disagree: the worse one shows
    names = sorted(set(found) | set(_CORE), key=_order)
    backups: dict[str, int] = {}
    return [
        {
            "name": name if not name.startswith("backup_") else "backup",
            "label": _component_label(name, backups),
            "state": found.get(name, ("unknown", None))[0],
            "since": iso(found[name][1]) if name in found else None,
        }
        for name in names
    ]


def _functions(names: list[str]) -> list[dict[str, Any]]:
    return [{"name": n, "label": L(*comp.FUNCTIONS[n])} for n in names if n in comp.FUNCTIONS]


_KINDS = {
    "detected": L("検知", "detected"),
    "acknowledged": L("対応開始", "acknowledged"),
    "update": L("経過", "update"),
    "resolved": L("復旧", "resolved"),
}


def _incidents(session: Session, now: datetime) -> list[dict[str, Any]]:
    rows = list(
        session.scalars(
            select(Incident)
            .where((Incident.status != "resolved") | (Incident.resolved_at >= now - RECENT))
            .order_by(Incident.started_at.desc())
            .limit(FEED_ENTRIES)
        )
    )
    # An incident for no customer at all (``tenant_ids == []``: a failed backup, ADR 0022)
    # is the operators' business, not the public's.
    rows = [r for r in rows if r.tenant_ids != []]
    if not rows:
        return []
    updates: dict[uuid.UUID, list[IncidentUpdate]] = {}
    for u in session.scalars(
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id.in_([r.id for r in rows]))
        .order_by(IncidentUpdate.at)
    ):
        updates.setdefault(u.incident_id, []).append(u)
    return [_incident_json(r, updates.get(r.id, [])) for r in rows]


def _incident_json(row: Incident, updates: list[IncidentUpdate]) -> dict[str, Any]:
    public = row.tenant_ids is None  # a per-tenant incident: neither title nor prose
    out: dict[str, Any] = {
        "id": str(row.id),
        "number": row.number,
        "outage": row.outage,
        "status": row.status,
        "scope": "service" if public else "some_customers",
        "title": L(row.title_ja, row.title_en)
        if public
        else L("一部のお客様に影響する障害", "An outage affecting some customers"),
        "functions": _functions(list(row.functions or [])),
        "started_at": iso(row.started_at),
        "detected_at": iso(row.detected_at),
        "resolved_at": iso(row.resolved_at) if row.resolved_at else None,
        "timeline": [
            {
                "at": iso(u.at),
                "kind": u.kind,
                "label": _KINDS.get(u.kind, L(u.kind, u.kind)),
                "message": L(u.message_ja, u.message_en) if public else L("", ""),
            }
            for u in updates
        ],
    }
    if public:
        out["details"] = {
            "cause": row.cause,
            "response": row.response,
            "prevention": row.prevention,
        }
    return out


def _maintenance(session: Session, now: datetime) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.ends_at > now)
        .order_by(MaintenanceWindow.starts_at)
    )
    return [_window_json(w, now) for w in rows]


def _window_json(w: MaintenanceWindow, now: datetime) -> dict[str, Any]:
    public = w.tenant_id is None  # a tenant's window: its reason may name the tenant
    return {
        "id": str(w.id),
        "scope": "service" if public else "some_customers",
        "starts_at": iso(w.starts_at),
        "ends_at": iso(w.ends_at),
        "reason": L(w.reason_ja, w.reason_en or w.reason_ja)
        if public
        else L("一部のお客様の環境のメンテナンス", "Maintenance for some customers"),
        "emergency": w.emergency,
        "reads_allowed": w.reads_allowed,
        "announced_at": iso(w.announced_at),
        "status": "in_progress" if w.starts_at <= now else "scheduled",
    }


def _overall(data: StatusData) -> str:
    open_ = [i for i in data.incidents if i["status"] != "resolved"]
    if any(i["outage"] == "full" and i["scope"] == "service" for i in open_):
        return "full_outage"
    if open_:
        return "partial_outage"
    if any(m["status"] == "in_progress" and m["scope"] == "service" for m in data.maintenance):
        return "maintenance"
    if data.components and all(c["state"] == "unknown" for c in data.components):
        return "unknown"
    if any(c["state"] in ("down", "degraded") for c in data.components):
        return "partial_outage"
    return "operational"


def collect(session: Session, now: datetime, *, stale_seconds: int) -> StatusData:
    data = StatusData(generated_at=now)
    data.components = _components(session, now, timedelta(seconds=stale_seconds))
    data.incidents = _incidents(session, now)
    data.maintenance = _maintenance(session, now)
    data.availability = monthly_rows(session, months=12)
    data.overall = _overall(data)
    return data


# -- the three forms ------------------------------------------------------------------

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html", "xml"), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

OVERALL = {
    "operational": L("すべてのサービスは正常に稼働しています", "All systems operational"),
    "partial_outage": L("一部の機能で障害が発生しています", "Some functions are down"),
    "full_outage": L("サービス全体で障害が発生しています", "Major outage: the service is down"),
    "maintenance": L("メンテナンス中です", "Under maintenance"),
    "unknown": L("現在の稼働状況を確認できません", "The current state is unknown"),
}
STATE_LABELS = {
    "up": L("正常", "Operational"),
    "degraded": L("一部低下", "Degraded"),
    "down": L("停止", "Down"),
    "unknown": L("不明", "Unknown"),
}
OUTAGE_LABELS = {"full": L("完全停止", "Full outage"), "partial": L("部分停止", "Partial outage")}
STATUS_LABELS = {
    "open": L("対応中", "Investigating"),
    "acknowledged": L("対応中", "Identified"),
    "resolved": L("復旧済み", "Resolved"),
    "scheduled": L("予定", "Scheduled"),
    "in_progress": L("実施中", "In progress"),
}


def jst(text: str | None) -> str:
    if not text:
        return ""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return to_jst(moment).strftime("%Y-%m-%d %H:%M JST")


def render_html(data: StatusData, lang: str, nonce: str) -> str:
    template = _env.get_template("status.html")
    return template.render(
        d=data,
        lang=lang,
        other="en" if lang == "ja" else "ja",
        t=lambda label: label[lang] if isinstance(label, dict) else label,
        overall=OVERALL[data.overall],
        states=STATE_LABELS,
        outages=OUTAGE_LABELS,
        statuses=STATUS_LABELS,
        jst=jst,
        nonce=nonce,
        generated=to_jst(data.generated_at).strftime("%Y-%m-%d %H:%M:%S JST"),
    )


def render_atom(data: StatusData, lang: str) -> bytes:
    """Incidents and maintenance as an Atom feed (links relative to the status page)."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", FEED_ID)
    sub(feed, "title", "Hokan " + ("稼働状況" if lang == "ja" else "status"))
    sub(feed, "updated", iso(data.generated_at))
    sub(feed, "link", href="/status", rel="alternate", type="text/html")
    sub(feed, "link", href="/status/feed.atom", rel="self", type="application/atom+xml")
    author = sub(feed, "author")
    sub(author, "name", "Hokan")
    entries: list[tuple[str, ET.Element]] = []
    for inc in data.incidents:
        entry = ET.Element(f"{{{ATOM}}}entry")
        updated = inc["resolved_at"] or (
            inc["timeline"][-1]["at"] if inc["timeline"] else inc["detected_at"]
        )
        sub(entry, "id", f"urn:uuid:{inc['id']}")
        state = STATUS_LABELS.get(inc["status"], L(inc["status"], inc["status"]))[lang]
        sub(entry, "title", f"{inc['number']} [{state}] {inc['title'][lang]}")
        sub(entry, "updated", updated)
        sub(entry, "published", inc["detected_at"])
        sub(entry, "link", href=f"/status#{inc['number']}", rel="alternate")
        lines = [OUTAGE_LABELS[inc["outage"]][lang] if inc["outage"] in OUTAGE_LABELS else ""]
        lines += [
            f"{jst(u['at'])} {u['label'][lang]} {u['message'][lang]}".strip()
            for u in inc["timeline"]
        ]
        sub(entry, "summary", "\n".join(x for x in lines if x))
        sub(entry, "category", term="incident")
        entries.append((updated, entry))
    for win in data.maintenance:
        entry = ET.Element(f"{{{ATOM}}}entry")
        sub(entry, "id", f"urn:uuid:{win['id']}")
        urgent = ("【緊急】" if lang == "ja" else "[Emergency] ") if win["emergency"] else ""
        head = "メンテナンス" if lang == "ja" else "Maintenance"
        sub(entry, "title", f"{urgent}{head} {jst(win['starts_at'])} - {jst(win['ends_at'])}")
        sub(entry, "updated", win["announced_at"])
        sub(entry, "published", win["announced_at"])
        sub(entry, "link", href=f"/status#m-{win['id']}", rel="alternate")
        sub(entry, "summary", win["reason"][lang])
        sub(entry, "category", term="maintenance")
        entries.append((win["announced_at"], entry))
    for _, entry in sorted(entries, key=lambda e: e[0], reverse=True):
        feed.append(entry)
    body = ET.tostring(feed, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode()
