"""Per-request context: the host (the process's runtime, seen through a protocol),
the request id, the caller's language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request

from hokan.kit.logging import request_id_var

if TYPE_CHECKING:
    from hokan.kit.actions import Declared
    from hokan.kit.db import Database
    from hokan.kit.errors import HokanError
    from hokan.principals import Principal
    from hokan.principals.operator import OperatorIdentity
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

    def record_failure(
        self,
        principal: Principal,
        declared: Declared,
        exc: HokanError,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Audit a failed action in a transaction of its own."""
        ...

    async def authenticate(self, request: Request) -> Principal:
        """The caller's principal from its credentials (refusals audited), or raise."""
        ...

    async def admit(self, request: Request, principal: Principal) -> None:
        """Raise (audited) unless the edge admits this principal from this terminal and network."""
        ...

    async def authenticate_operator(self, request: Request) -> OperatorIdentity:
        """An operator's own session, admitted from an operator terminal, or raise."""
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
