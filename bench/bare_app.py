"""The baseline for ``bench/run.py``: a bare Starlette app on the same routes as Hokan's records.

GET answers a constant JSON object shaped and sized like Hokan's record response; PUT reads
the request body and answers the same constant. No auth, no database, no middleware: this is
what one uvicorn worker costs per request before Hokan does any work of its own.

Served exactly like ``hokan serve`` (uvicorn defaults for loop and HTTP parser, one worker)::

    uvicorn bare_app:app --app-dir bench --workers 1 --log-level warning --no-access-log
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# Shaped like Hokan's GET response for one of the benchmark's records (about 600 bytes).
RECORD: dict[str, object] = {
    "id": "rec-00001",
    "collection": "staff",
    "revision": 1,
    "created_at": "2026-04-01T09:00:00.000000Z",
    "updated_at": "2026-04-01T09:00:00.000000Z",
    "deleted": False,
    "data": {
        "employee_no": "E000001",
        "name": "佐藤 花子",
        "name_kana": "サトウ ハナコ",
        "department": "品質管理部",
        "position": "主任",
        "email": "e000001@example.co.jp",
        "phone": "03-1234-5678",
        "address": {
            "postal_code": "100-0001",
            "prefecture": "東京都",
            "city": "千代田区",
            "line": "千代田1-2-3 保管ビル4階",
        },
        "hired_on": "2019-04-01",
        "skills": ["フォークリフト", "簿記2級", "普通自動車免許"],
        "note": "夜勤可。繁忙期は土曜出勤に対応できます。資格手当の対象者です。",
    },
}


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def get_record(_request: Request) -> JSONResponse:
    return JSONResponse(RECORD)


async def put_record(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse(RECORD)


app = Starlette(
    routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/v1/collections/{collection}/records/{record_id}", get_record, methods=["GET"]),
        Route("/api/v1/collections/{collection}/records/{record_id}", put_record, methods=["PUT"]),
    ]
)
