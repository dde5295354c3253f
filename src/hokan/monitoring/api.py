"""``/api/v1/operator/incidents``: operators open, update, acknowledge, resolve and
document incidents; every notice goes out right after the change commits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from hokan.httpkit.auth import OperatorWork, operator_work
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.kit.clock import utcnow
from hokan.monitoring import notices
from hokan.monitoring.incidents import Incidents, timeline
from hokan.monitoring.views import incident_json
from hokan.principals.roles import Role

router = Router(prefix="/api/v1/operator/incidents", tags=["incidents"])

Reader = Annotated[
    OperatorWork,
    Depends(
        operator_work(
            Role.incident_response, Role.operations_manager, Role.general_manager, Role.auditor
        )
    ),
]
Responder = Annotated[
    OperatorWork,
    Depends(operator_work(Role.incident_response, Role.operations_manager, Role.general_manager)),
]


class OpenIn(BaseModel):
    outage: str = Field(pattern="^(full|partial)$")
    title_ja: str = Field(min_length=1, max_length=200)
    title_en: str = Field(default="", max_length=200)
    functions: list[str] = Field(default_factory=list, max_length=16)
    started_at: datetime | None = None
    message_ja: str = Field(default="", max_length=4000)
    message_en: str = Field(default="", max_length=4000)


class UpdateIn(BaseModel):
    message_ja: str = Field(min_length=1, max_length=4000)
    message_en: str = Field(default="", max_length=4000)
    acknowledge: bool = False


class ResolveIn(BaseModel):
    resolved_at: datetime | None = None
    message_ja: str = Field(default="", max_length=4000)
    message_en: str = Field(default="", max_length=4000)


class DetailsIn(BaseModel):
    cause: str | None = Field(default=None, max_length=4000, description="停止理由")
    response: str | None = Field(default=None, max_length=4000, description="対応")
    prevention: str | None = Field(default=None, max_length=4000, description="予防")
    counts_as_outage: bool | None = None


async def _dispatch(work: OperatorWork) -> None:
    db, settings = work.host.db, work.host.settings
    await work.step(lambda: notices.dispatch(db, settings, utcnow()), in_thread=True)


@router.get("", summary="Incidents, newest first")
async def list_incidents(
    work: Reader,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    svc = work.resolve(Incidents)
    rows = await work(lambda s: svc.listing(s, work.principal, open_only=open_only, limit=limit))
    return JsonResponse([incident_json(r) for r in rows])


@router.post("", status_code=201, summary="Open an incident by hand (notices go out)")
async def open_incident(body: OpenIn, work: Responder) -> Response:
    svc = work.resolve(Incidents)
    now = utcnow()

    def run(s: Any) -> dict[str, Any]:
        row = svc.open(
            s,
            work.principal,
            outage=body.outage,
            title_ja=body.title_ja,
            title_en=body.title_en,
            functions=body.functions,
            started_at=body.started_at or now,
            now=now,
            message_ja=body.message_ja,
            message_en=body.message_en,
        )
        return incident_json(row, timeline(s, row.id))

    out = await work(run)
    await _dispatch(work)
    return JsonResponse(out, status_code=201)


@router.get("/{number}", summary="One incident with its timeline")
async def get_incident(number: str, work: Reader) -> Response:
    svc = work.resolve(Incidents)
    return JsonResponse(await work(lambda s: svc.detail(s, work.principal, number)))


@router.post("/{number}/updates", summary="Post an update (or acknowledge); notices go out")
async def update_incident(number: str, body: UpdateIn, work: Responder) -> Response:
    svc = work.resolve(Incidents)
    now = utcnow()

    def run(s: Any) -> dict[str, Any]:
        row = svc.update(
            s,
            work.principal,
            number,
            now=now,
            message_ja=body.message_ja,
            message_en=body.message_en,
            acknowledge=body.acknowledge,
        )
        return incident_json(row, timeline(s, row.id))

    out = await work(run)
    await _dispatch(work)
    return JsonResponse(out)


@router.post("/{number}/resolve", summary="Resolve an incident; the resolution notice goes out")
async def resolve_incident(number: str, body: ResolveIn, work: Responder) -> Response:
    svc = work.resolve(Incidents)
    now = utcnow()

    def run(s: Any) -> dict[str, Any]:
        row = svc.resolve(
            s,
            work.principal,
            number,
            now=now,
            resolved_at=body.resolved_at,
            message_ja=body.message_ja,
            message_en=body.message_en,
        )
        return incident_json(row, timeline(s, row.id))

    out = await work(run)
    await _dispatch(work)
    return JsonResponse(out)


@router.patch("/{number}", summary="Edit 停止の詳細 (cause, response, prevention) after the fact")
async def edit_incident(number: str, body: DetailsIn, work: Responder) -> Response:
    svc = work.resolve(Incidents)

    def run(s: Any) -> dict[str, Any]:
        row = svc.edit_details(
            s,
            work.principal,
            number,
            cause=body.cause,
            response=body.response,
            prevention=body.prevention,
            counts_as_outage=body.counts_as_outage,
        )
        return incident_json(row)

    return JsonResponse(await work(run))
