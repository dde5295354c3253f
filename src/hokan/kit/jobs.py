"""What a scheduled job is (ADR 0017).

Each domain declares its jobs in its own ``tasks.py`` as :class:`Job` values named
``domain.verb``; the ``hokan.jobs`` package collects them, schedules them in
``hokan worker`` and records every run. A job's ``run`` receives a
:class:`JobHost` — the process's runtime seen through a protocol, plus the clock
the worker runs on (injected in tests) — and returns a :class:`JobResult`.

A job must be idempotent and safe to run twice at once: the worker's leader lock
is not its only guard, its own transaction is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from hokan.kit.db import Database
    from hokan.settings import Settings

T = TypeVar("T")

JobStatus = Literal["ok", "skipped"]


class JobHost(Protocol):
    """What a job may use of the process it runs in."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    def resolve(self, kind: type[T]) -> T:
        """The process's one instance of a service (``host.resolve(VaultService)``)."""
        ...

    def now(self) -> datetime:
        """The current time in UTC (the worker's clock; tests travel in time with it)."""
        ...


@dataclass(frozen=True)
class JobResult:
    """What one run did: ``summary`` is counts and names, never tenant data."""

    summary: Mapping[str, Any] = field(default_factory=dict)
    status: JobStatus = "ok"

    @classmethod
    def skipped(cls, why: str) -> JobResult:
        return cls({"reason": why}, "skipped")


@dataclass(frozen=True)
class Job:
    """A scheduled control.

    ``schedule`` is the default, overridable per job in ``HOKAN_JOB_SCHEDULES``:
    ``every 30s`` / ``every 15m`` / ``every 1h``, a five-field cron expression in
    Japan Standard Time (``30 0 * * *``), or ``off``. ``retry`` jobs (mail, CRL)
    are retried with exponential backoff after a failure instead of waiting for
    their next scheduled time.
    """

    name: str
    schedule: str | Callable[[Settings], str]
    run: Callable[[JobHost], JobResult]
    summary_ja: str
    summary_en: str
    retry: bool = False
    # Runs even when its run cannot be recorded: the prober must watch the very
    # database that records job runs.
    resilient: bool = False

    def default_schedule(self, settings: Settings) -> str:
        return self.schedule if isinstance(self.schedule, str) else self.schedule(settings)

    def describe(self, lang: str = "ja") -> str:
        return self.summary_en if lang == "en" else self.summary_ja
