"""How incidents look outside the service (API, CLI, status page)."""

from __future__ import annotations

from typing import Any

from hokan.kit.clock import iso
from hokan.models import Incident


def incident_json(row: Incident, updates: list[Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(row.id),
        "number": row.number,
        "origin": row.origin,
        "outage": row.outage,
        "status": row.status,
        "title": {"ja": row.title_ja, "en": row.title_en},
        "components": row.components,
        "functions": row.functions,
        "started_at": iso(row.started_at),
        "detected_at": iso(row.detected_at),
        "notified_at": iso(row.notified_at) if row.notified_at else None,
        "acknowledged_at": iso(row.acknowledged_at) if row.acknowledged_at else None,
        "resolved_at": iso(row.resolved_at) if row.resolved_at else None,
        "cause": row.cause,
        "response": row.response,
        "prevention": row.prevention,
        "counts_as_outage": row.counts_as_outage,
    }
    if updates is not None:
        out["timeline"] = [
            {"at": iso(u.at), "kind": u.kind, "message": {"ja": u.message_ja, "en": u.message_en}}
            for u in updates
        ]
    return out
