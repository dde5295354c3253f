"""Per-request context: the runtime, the request id, the caller's language."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hokan.kit.logging import request_id_var
from hokan.runtime import Runtime

__all__ = ["RuntimeDep", "get_runtime", "preferred_language", "request_id_var"]


async def get_runtime(request: Request) -> Runtime:
    # async: a sync dependency would cost a threadpool hop per request.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def preferred_language(accept_language: str | None) -> str:
    """Japanese first; English when the caller prefers it."""
    if not accept_language:
        return "ja"
    first = accept_language.split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "ja"
