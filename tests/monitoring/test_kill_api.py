# ruff: noqa: F811  (pytest injects the imported `smtp_server` fixture by parameter name)
"""Kill a real `hokan serve` process: the real API probe sees it, a full-outage incident
opens after two probes, its notice reaches a real SMTP server within a minute of
detection; a new server brings it back and the incident resolves, notices included."""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from hokan.jobs.worker import WorkerHost
from hokan.models import Incident, NotificationDelivery
from hokan.monitoring import prober
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import hokan_serve, wait_until
from tests.identity.test_lock_notice import Inbox, smtp_server  # noqa: F401


def test_killing_the_api_opens_a_full_outage_and_a_new_server_resolves_it(
    settings_factory: Callable[..., Settings], tmp_path: Path, smtp_server: tuple[str, Inbox]
) -> None:
    url, inbox = smtp_server
    base = settings_factory(smtp_url=url, oncall_emails=["oncall@hokan.example"])
    Runtime(base).keyring.verify_master(initialise=True)
    prober.reset()
    clock = {"now": datetime.now(UTC) - timedelta(seconds=60)}

    def round_against(api: str) -> None:
        s = base.model_copy(update={"monitor_url": api})
        rt = Runtime(s)
        try:
            prober.probe_round(WorkerHost(s, rt.db, rt.resolve, lambda: clock["now"]))
        finally:
            rt.close()
        clock["now"] += timedelta(seconds=30)

    pids: list[int] = []
    with hokan_serve(base, tmp_path, pids=pids) as (api,):
        round_against(api)
        import os

        os.kill(pids[0], signal.SIGKILL)
        round_against(api)
        detected = clock["now"]
        round_against(api)

    rt = Runtime(base)
    try:
        with rt.db.session(system=True) as s:
            incident = s.scalars(select(Incident)).one()
            mails = s.scalars(
                select(NotificationDelivery).where(NotificationDelivery.channel == "mail")
            ).all()
        assert (incident.outage, incident.status) == ("full", "open")
        assert incident.components == ["api"] and incident.detected_at == detected
        assert mails and all(m.status == "delivered" for m in mails)
        assert all(m.latency_ms is not None and m.latency_ms < 60_000 for m in mails)
        assert wait_until(lambda: any(b"oncall@hokan.example" in m for m in inbox.messages), 10)

        with hokan_serve(base, tmp_path) as (again,):
            round_against(again)
            round_against(again)
        with rt.db.session(system=True) as s:
            incident = s.scalars(select(Incident)).one()
            events = {d.event for d in s.scalars(select(NotificationDelivery))}
        assert incident.status == "resolved" and incident.resolved_at is not None
        assert events >= {"opened", "resolved"}
        assert any(b"resolved" in m for m in inbox.messages)
    finally:
        rt.close()
        prober.reset()
