"""The job registry: every scheduled control is there, schedules are validated at start-up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from hokan.jobs.errors import InvalidSchedule, JobNotFound
from hokan.jobs.registry import Registry
from hokan.kit.clock import JST
from hokan.settings import Settings

# The controls that ran only when someone typed a command before the worker existed.
EXISTING = {
    "audit.checkpoint",
    "audit.daily_review",
    "audit.archive",
    "vault.purge_due",
    "identity.expire_temporary_operators",
    "mail.deliver",
    "certificates.publish_crl",
}


def test_every_control_is_registered_with_its_default(settings: Settings) -> None:
    registry = Registry(settings)
    names = {sc.name for sc in registry}
    assert names >= EXISTING
    assert registry.get("audit.daily_review").schedule == "30 0 * * *"
    assert registry.get("vault.purge_due").schedule == "every 15m"
    assert registry.get("audit.archive").trigger is None  # off by default
    assert registry.get("audit.checkpoint").schedule == "every 3600s"


def test_the_daily_review_fires_at_half_past_midnight_jst(settings: Settings) -> None:
    review = Registry(settings).get("audit.daily_review")
    fire = review.next_fire(datetime(2026, 3, 1, 16, 0, tzinfo=UTC))  # 01:00 JST on the 2nd
    assert fire is not None
    assert fire.astimezone(JST).isoformat() == "2026-03-03T00:30:00+09:00"


def test_overrides_apply_and_off_disables(settings_factory: Callable[..., Settings]) -> None:
    s = settings_factory(job_schedules={"vault.purge_due": "every 30s", "mail.deliver": "off"})
    registry = Registry(s)
    assert registry.get("vault.purge_due").schedule == "every 30s"
    assert registry.get("mail.deliver").trigger is None


@pytest.mark.parametrize("bad", ["61 0 * * *", "every 0s", "every ten minutes", "* * *", ""])
def test_a_bad_schedule_stops_start_up_naming_the_setting(
    settings_factory: Callable[..., Settings], bad: str
) -> None:
    s = settings_factory(job_schedules={"audit.daily_review": bad})
    with pytest.raises(InvalidSchedule) as caught:
        Registry(s)
    assert "HOKAN_JOB_SCHEDULES[audit.daily_review]" in caught.value.message("en")


def test_an_unknown_job_in_settings_or_by_name_lists_the_known_ones(
    settings_factory: Callable[..., Settings],
) -> None:
    with pytest.raises(InvalidSchedule) as caught:
        Registry(settings_factory(job_schedules={"audit.daly_review": "every 1m"}))
    assert "audit.daily_review" in caught.value.message("en")
    with pytest.raises(JobNotFound) as missing:
        Registry(settings_factory()).get("nope")
    assert missing.value.status == 404 and "vault.purge_due" in missing.value.message("en")


def test_a_cron_job_is_missed_when_its_time_passed_since_the_last_run(
    settings: Settings,
) -> None:
    review = Registry(settings).get("audit.daily_review")
    ran = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 00:30 JST on the 2nd
    assert not review.missed(ran, datetime(2026, 3, 2, 15, 29, tzinfo=UTC))
    assert review.missed(ran, datetime(2026, 3, 2, 15, 31, tzinfo=UTC))
    assert review.missed(None, ran)  # never ran: catch up on start
    purge = Registry(settings).get("vault.purge_due")
    assert not purge.missed(None, ran)  # interval jobs simply run at start


@pytest.mark.parametrize(
    ("expr", "weekday"),
    [("0 3 * * 1", 0), ("0 3 * * 0", 6), ("0 3 * * 7", 6), ("0 3 * * mon", 0), ("0 3 * * 5", 4)],
)
def test_cron_weekdays_count_from_sunday_as_cron_does(expr: str, weekday: int) -> None:
    from hokan.jobs.schedules import parse

    trigger = parse(expr, "test")
    assert trigger is not None
    fire = trigger.get_next_fire_time(None, datetime(2026, 3, 4, tzinfo=JST))
    assert fire.weekday() == weekday and fire.hour == 3


def test_weekday_ranges_and_steps_translate() -> None:
    from hokan.jobs.schedules import cron_weekdays

    assert cron_weekdays("1-5") == "mon-fri"
    assert cron_weekdays("0,6") == "sun,sat"
    assert cron_weekdays("*/2") == "*/2"
    assert cron_weekdays("1-5/2") == "mon-fri/2"
    assert cron_weekdays("0-6") == "mon-sat,sun"
    assert cron_weekdays("5-7") == "fri-sat,sun"
