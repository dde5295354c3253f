"""Response classes and the one error body's schema."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response


class JsonResponse(JSONResponse):
    """orjson-rendered, UTF-8, no ASCII escaping of Japanese. (A JSONResponse, so
    the OpenAPI document shows JSON, not a string, for routes without a model.)"""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class CsvResponse(Response):
    media_type = "text/csv; charset=utf-8"


class Problem(BaseModel):
    loc: list[str] = Field(description="Where: body/query/path/header, then the field")
    type: str = Field(description="What kind of problem (e.g. missing, less_than_equal)")


class ErrorOut(BaseModel):
    """Every error answer: a stable code, a message in the caller's language
    (``Accept-Language``; Japanese by default), and, when there is one, the reason
    and its parameters as fields of their own."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="Stable code; clients switch on it")
    detail: str = Field(description="Human-readable message in the negotiated language")
    reason: str | None = Field(default=None, description="Stable key of the specific reason")
    problems: list[Problem] | None = Field(
        default=None, description="invalid_parameter / invalid_payload: what is wrong, where"
    )
