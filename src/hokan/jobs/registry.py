"""Every scheduled job, collected from the domains' ``tasks.py``, with its schedule.

A domain adds a job by declaring it in its ``tasks.py`` ``JOBS`` and listing the
module here. Schedules come from the job's default or ``HOKAN_JOB_SCHEDULES``;
both are validated when the registry is built (at ``hokan serve`` / ``hokan
worker`` start-up), so a bad expression stops the process and names the setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from hokan.audit import tasks as audit_tasks
from hokan.backup import tasks as backup_tasks
from hokan.certificates import tasks as certificate_tasks
from hokan.clock import tasks as clock_tasks
from hokan.identity import tasks as identity_tasks
from hokan.jobs import schedules
from hokan.jobs import tasks as job_tasks
from hokan.jobs.errors import InvalidSchedule, JobNotFound
from hokan.kit.clock import JST
from hokan.kit.jobs import Job
from hokan.lifecycle import tasks as lifecycle_tasks
from hokan.mail import tasks as mail_tasks
from hokan.monitoring import tasks as monitoring_tasks
from hokan.records import tasks as record_tasks
from hokan.reports import tasks as report_tasks
from hokan.settings import Settings
from hokan.vault import tasks as vault_tasks

CATALOGUE: tuple[Job, ...] = (
    *audit_tasks.JOBS,
    *vault_tasks.JOBS,
    *identity_tasks.JOBS,
    *mail_tasks.JOBS,
    *certificate_tasks.JOBS,
    *job_tasks.JOBS,
    *monitoring_tasks.JOBS,
    *clock_tasks.JOBS,
    *lifecycle_tasks.JOBS,
    *backup_tasks.JOBS,
    *report_tasks.JOBS,
    *record_tasks.JOBS,
)

SETTING = "HOKAN_JOB_SCHEDULES"


@dataclass(frozen=True)
class Scheduled:
    job: Job
    schedule: str  # as configured: "every 5m", a cron expression, "off"
    trigger: BaseTrigger | None  # None: off

    @property
    def name(self) -> str:
        return self.job.name

    def next_fire(self, now: datetime) -> datetime | None:
        if self.trigger is None:
            return None
        fire: datetime | None = self.trigger.get_next_fire_time(None, now.astimezone(JST))
        return fire

    def missed(self, last_started: datetime | None, now: datetime) -> bool:
        """Whether a cron job's time came and went since its last run (catch up on start).

        A job that never ran counts as missed; interval jobs never are, they simply
        run at their next interval.
        """
        if not isinstance(self.trigger, CronTrigger):
            return False
        if last_started is None:
            return True
        after = last_started.astimezone(JST) + timedelta(seconds=1)
        due = self.trigger.get_next_fire_time(None, after)
        return due is not None and due <= now


class Registry:
    """The jobs this installation runs, validated against its settings."""

    def __init__(self, settings: Settings, catalogue: tuple[Job, ...] = CATALOGUE) -> None:
        known = {job.name: job for job in (*CATALOGUE, *catalogue)}
        names = ", ".join(sorted(known))
        for name in settings.job_schedules:
            if name not in known:
                raise InvalidSchedule("unknown_job", setting=f"{SETTING}[{name}]", known=names)
        self._jobs: dict[str, Scheduled] = {}
        for job in catalogue:
            if job.name in settings.job_schedules:
                text, where = settings.job_schedules[job.name], f"{SETTING}[{job.name}]"
            else:
                text, where = job.default_schedule(settings), job.name
            self._jobs[job.name] = Scheduled(job, text, schedules.parse(text, where))

    def __iter__(self) -> Iterator[Scheduled]:
        return iter(self._jobs.values())

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, name: str) -> Scheduled:
        found = self._jobs.get(name)
        if found is None:
            raise JobNotFound("unknown", known=", ".join(sorted(self._jobs)))
        return found
