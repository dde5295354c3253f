"""A tenant's own operation log (AUD-3, whitepaper §1-4-1): JSON pages and CSV.

Reading the log is itself recorded. Times are UTC (``occurred_at``) with the
Japan Standard Time rendering beside them (``occurred_at_jst``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, Query
from sqlalchemy import Row
from starlette.responses import Response, StreamingResponse

from hokan.audit.log import AuditLog, Filters
from hokan.httpkit.auth import ReadAudit
from hokan.httpkit.params import SeqCursor
from hokan.httpkit.responses import CsvResponse, JsonResponse
from hokan.httpkit.routing import Router
from hokan.kit.clock import iso, to_jst

router = Router(prefix="/api/v1/audit", tags=["audit"])

Result = Literal["success", "denied", "error"]
CSV_COLUMNS = (
    "seq",
    "occurred_at",
    "occurred_at_jst",
    "actor_type",
    "actor_id",
    "actor_name",
    "role",
    "action",
    "target_type",
    "target_id",
    "result",
    "source_ip",
    "cert_fingerprint",
    "request_id",
    "detail",
    "entry_hash",
)


def _json(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "seq": row.seq,
        "occurred_at": iso(row.occurred_at),
        "occurred_at_jst": to_jst(row.occurred_at).isoformat(),
        "actor": {"type": row.actor_type, "id": row.actor_id, "name": row.actor_name},
        "role": row.role,
        "action": row.action,
        "target": {"type": row.target_type, "id": row.target_id},
        "result": row.result,
        "source_ip": row.source_ip,
        "cert_fingerprint": row.cert_fingerprint,
        "request_id": row.request_id,
        "detail": row.detail,
        "entry_hash": row.entry_hash,
    }


async def _filters(
    since: Annotated[datetime | None, Query(description="From (inclusive, ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Until (exclusive, ISO 8601)")] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="Exact action, or a prefix ending in '.'")
    ] = None,
    actor: Annotated[str | None, Query(max_length=64, description="Actor id")] = None,
    result: Result | None = None,
) -> Filters:
    def utc(value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value

    return Filters(utc(since), utc(until), action, actor, result)


FiltersDep = Annotated[Filters, Depends(_filters)]


@router.get("/events", summary="The tenant's operation log")
async def list_events(
    work: ReadAudit,
    filters: FiltersDep,
    cursor: SeqCursor = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Entries of the caller's tenant, oldest first, with cursor pagination."""
    log = work.resolve(AuditLog)
    rows = await work(lambda s: log.page(s, work.principal, filters, cursor, limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return JsonResponse(
        {"items": [_json(r) for r in rows], "next_cursor": rows[-1].seq if more else None}
    )


@router.get("/events.csv", summary="The tenant's operation log as CSV", response_class=CsvResponse)
async def export_events(
    work: ReadAudit,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100_000,
) -> Response:
    """CSV (UTF-8 with BOM, so Excel shows Japanese correctly), oldest first."""
    log = work.resolve(AuditLog)
    rows = await work(lambda s: log.export(s, work.principal, filters, limit))

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write("\ufeff")
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            item = _json(row)
            writer.writerow(
                [
                    row.seq,
                    item["occurred_at"],
                    item["occurred_at_jst"],
                    row.actor_type,
                    row.actor_id,
                    row.actor_name,
                    row.role,
                    row.action,
                    row.target_type,
                    row.target_id,
                    row.result,
                    row.source_ip,
                    row.cert_fingerprint,
                    row.request_id,
                    orjson.dumps(row.detail).decode(),
                    row.entry_hash,
                ]
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="hokan-audit.csv"'},
    )


@router.get("/bundle", summary="A verifiable export of the tenant's whole log")
async def export_bundle(work: ReadAudit) -> Response:
    """The whole chain with its signed checkpoints and the public key, as one JSON
    file that ``hokan audit verify --bundle FILE`` checks offline."""
    log = work.resolve(AuditLog)
    await work(lambda s: log.admit_bundle(s, work.principal))
    # Read with no transaction open: a long chain holds up no writer.
    data = await work.step(lambda: log.read_bundle(work.principal), in_thread=True)
    await work(lambda s: log.bundle_exported(s, work.principal))
    return Response(
        data,
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="hokan-audit-bundle.json"'},
    )
