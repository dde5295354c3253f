"""``RuntimeDep``: the process's runtime as a route dependency (transitional: routes move
to the unit of work and ``hokan.httpkit.context.HostDep``; removed with issue 11)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hokan.httpkit.context import preferred_language, request_id_var
from hokan.runtime import Runtime

__all__ = ["RuntimeDep", "get_runtime", "preferred_language", "request_id_var"]


async def get_runtime(request: Request) -> Runtime:
    # async: a sync dependency would cost a threadpool hop per request.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
