"""Per-request context: the host (the process's runtime, seen through a protocol),
the request id, the caller's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Protocol, TypeVar

from fastapi import Depends, Request

from hokan.kit.logging import request_id_var

if TYPE_CHECKING:
    from hokan.identity.principal import Principal
    from hokan.kit.actions import Declared
    from hokan.kit.db import Database
    from hokan.kit.errors import HokanError
    from hokan.settings import Settings

__all__ = ["Host", "HostDep", "get_host", "preferred_language", "request_id_var"]

T = TypeVar("T")


class Host(Protocol):
    """What routes and the unit of work need of the process's runtime.

    ``hokan.runtime.Runtime`` implements it; nothing below the composition root
    imports that class.
    """

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    async def call(self, fn: Callable[[], T]) -> T: ...

    def resolve(self, kind: type[T]) -> T:
        """The process's one instance of a service (``host.resolve(RecordService)``)."""
        ...

    def record_failure(self, principal: Principal, declared: Declared, exc: HokanError) -> None:
        """Audit a failed action in a transaction of its own."""
        ...


async def get_host(request: Request) -> Host:
    # async: a sync dependency would cost a threadpool hop per request.
    host: Host = request.app.state.runtime
    return host


HostDep = Annotated["Host", Depends(get_host)]


def preferred_language(accept_language: str | None) -> str:
    """Japanese first; English when the caller prefers it."""
    if not accept_language:
        return "ja"
    first = accept_language.split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "ja"
