"""The weekly clock check through the job runner: recorded, audited, mailed, counted.

A local SNTP server on loopback stands in for NICT; a real SMTP server (aiosmtpd)
receives the alert from the outbox. SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from hokan import mail
from hokan.audit import service as audit
from hokan.clock import service
from hokan.jobs import runner, runs
from hokan.jobs.registry import Registry
from hokan.jobs.runner import Outcome
from hokan.jobs.worker import WorkerHost
from hokan.models import AuditEvent, ClockCheck, MailMessage
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.clock.conftest import Inbox, Responder
from tests.conftest import OperatorHandle

ONCALL = "oncall@hokan.example"


def _settings(runtime: Runtime, *servers: str, **extra: Any) -> Settings:
    values = {
        "ntp_servers": list(servers),
        "ntp_timeout_seconds": 0.5,
        "oncall_emails": [ONCALL],
        **extra,
    }
    return runtime.settings.model_copy(update=values)


def _run(runtime: Runtime, settings: Settings) -> Outcome:
    host = WorkerHost(settings, runtime.db, runtime.resolve)
    return runner.execute(host, Registry(settings).get("clock.check"), trigger="manual")


def _audited(runtime: Runtime, action: str) -> list[AuditEvent]:
    with runtime.db.session(system=True) as s:
        return list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


def _mails(runtime: Runtime) -> list[MailMessage]:
    with runtime.db.session(system=True) as s:
        return list(s.scalars(select(MailMessage).order_by(MailMessage.created_at)))


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_clock_within_tolerance_is_recorded_ok(
    runtime: Runtime, ntp_server: Callable[..., Responder]
) -> None:
    server = ntp_server(0.2)  # 200 ms off: within the default 1000 ms
    settings = _settings(runtime, server.address)
    alerts = _metric("hokan_clock_alerts_total", reason="offset_exceeded")

    outcome = _run(runtime, settings)

    assert (outcome.status, outcome.error) == ("ok", None)
    assert outcome.summary["result"] == "ok"
    assert outcome.summary["server"] == server.address
    with runtime.db.session(system=True) as s:
        [row] = s.scalars(select(ClockCheck)).all()
        [run] = runs.history(s, "clock.check")
    assert (row.server, row.answered, row.stratum, row.chosen, row.result) == (
        server.address,
        True,
        2,
        True,
        "ok",
    )
    assert row.offset_seconds is not None and abs(row.offset_seconds - 0.2) < 0.05
    assert row.delay_seconds is not None and row.delay_seconds >= 0
    assert (run.status, run.error_code) == ("ok", None)
    [entry] = _audited(runtime, "clock.check")
    assert (entry.chain, entry.result, entry.target_type) == ("system", "success", "clock")
    assert entry.detail["result"] == "ok" and entry.detail["server"] == server.address
    assert abs(entry.detail["offset_ms"] - 200) < 50
    assert _audited(runtime, "job.run") == []
    assert _mails(runtime) == []  # nothing to tell anyone
    assert _metric("hokan_clock_alerts_total", reason="offset_exceeded") == alerts
    assert abs(_metric("hokan_clock_offset_seconds") - 0.2) < 0.05
    assert _metric("hokan_clock_last_check_timestamp_seconds") == pytest.approx(
        row.checked_at.timestamp()
    )


def test_a_clock_five_seconds_off_is_alerted_audited_and_mailed(
    runtime: Runtime,
    ntp_server: Callable[..., Responder],
    smtp_server: tuple[str, Inbox],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    make_operator()  # incident_response: receives security notices (ops@hokan.example)
    url, inbox = smtp_server
    server = ntp_server(5.0)
    settings = _settings(runtime, server.address, smtp_url=url)
    alerts = _metric("hokan_clock_alerts_total", reason="offset_exceeded")

    outcome = _run(runtime, settings)

    # The run failed with a stable code: it shows in 'hokan jobs history --failed'.
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error.code == "clock_offset_exceeded"
    with runtime.db.session(system=True) as s:
        [run] = runs.history(s, "clock.check", failed_only=True)
        [row] = s.scalars(select(ClockCheck)).all()
    assert run.error_code == "clock_offset_exceeded"
    assert (row.result, row.answered, row.chosen) == ("offset_exceeded", True, True)
    assert row.offset_seconds is not None and abs(row.offset_seconds - 5.0) < 0.05

    # Audited on the system chain with the measurement.
    [entry] = _audited(runtime, "clock.check")
    assert (entry.chain, entry.result) == ("system", "error")
    detail = entry.detail
    assert (detail["result"], detail["error"], detail["server"]) == (
        "offset_exceeded",
        "clock_offset_exceeded",
        server.address,
    )
    assert abs(detail["offset_ms"] - 5000) < 50 and detail["max_offset_ms"] == 1000
    [job_entry] = _audited(runtime, "job.run")
    assert job_entry.detail["error"] == "clock_offset_exceeded"
    assert audit.verify(runtime.db).ok

    # One mail, not two: the runner's, to on-call and the security-notice operators.
    [queued] = _mails(runtime)
    assert queued.recipients == [ONCALL, "ops@hokan.example"]
    assert mail.deliver(runtime.db, settings) == 1
    [raw] = inbox.messages
    msg = message_from_bytes(raw)
    assert "clock.check" in str(make_header(decode_header(msg["Subject"])))
    body = msg.get_payload(decode=True).decode("utf-8")
    assert "clock_offset_exceeded" in body
    assert server.address in body and "1000 ms" in body
    assert "サーバーの時刻が NTP サーバーの時刻からずれています" in body

    # Counted for /metrics.
    assert _metric("hokan_clock_alerts_total", reason="offset_exceeded") == alerts + 1
    assert abs(_metric("hokan_clock_offset_seconds") - 5.0) < 0.05

    # The next weekly alert of the same streak is recorded but not mailed again.
    assert _run(runtime, settings).status == "failed"
    assert len(_mails(runtime)) == 1
    assert len(_audited(runtime, "clock.check")) == 2


def test_no_answering_server_is_alerted_as_unreachable(
    runtime: Runtime, closed_port: str, ntp_server: Callable[..., Responder]
) -> None:
    silent = ntp_server(silent=True)
    settings = _settings(runtime, closed_port, silent.address)
    alerts = _metric("hokan_clock_alerts_total", reason="unreachable")

    outcome = _run(runtime, settings)

    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error.code == "clock_unreachable"
    with runtime.db.session(system=True) as s:
        [run] = runs.history(s, "clock.check", failed_only=True)
        rows = s.scalars(select(ClockCheck)).all()
    assert run.error_code == "clock_unreachable"
    assert sorted((r.server, r.answered, r.error, r.result) for r in rows) == sorted(
        [
            (closed_port, False, "timeout", "unreachable"),
            (silent.address, False, "timeout", "unreachable"),
        ]
    )
    [entry] = _audited(runtime, "clock.check")
    assert entry.result == "error"
    assert (entry.detail["result"], entry.detail["answered"], entry.detail["asked"]) == (
        "unreachable",
        0,
        2,
    )
    assert entry.detail["offset_ms"] is None
    [queued] = _mails(runtime)
    assert queued.recipients == [ONCALL]
    assert "clock_unreachable" in queued.body and closed_port in queued.body
    assert _metric("hokan_clock_alerts_total", reason="unreachable") == alerts + 1


def test_the_verdict_rests_on_the_closest_answering_server(
    runtime: Runtime, ntp_server: Callable[..., Responder], closed_port: str
) -> None:
    near_and_right = ntp_server(0.0)
    far_and_wrong = ntp_server(5.0, latency=0.3)  # a longer round trip: less precise
    settings = _settings(runtime, closed_port, far_and_wrong.address, near_and_right.address)
    outcome = _run(runtime, settings)
    assert outcome.status == "ok"
    assert outcome.summary["server"] == near_and_right.address

    near_and_wrong = ntp_server(5.0)
    far_and_right = ntp_server(0.0, latency=0.3)
    settings = _settings(runtime, far_and_right.address, near_and_wrong.address)
    outcome = _run(runtime, settings)
    assert outcome.error is not None and outcome.error.code == "clock_offset_exceeded"

    with runtime.db.session(system=True) as s:
        first, second = reversed(service.history(s))  # newest first
    assert (first.result, len(first.answers)) == ("ok", 3)
    assert first.chosen is not None and first.chosen.server == near_and_right.address
    assert [a.error for a in first.answers if not a.answered] == ["timeout"]
    assert second.chosen is not None and second.chosen.server == near_and_wrong.address
    with runtime.db.session(system=True) as s:
        assert [c.result for c in service.history(s, alerts_only=True)] == ["offset_exceeded"]


def test_the_threshold_is_a_setting(runtime: Runtime, ntp_server: Callable[..., Responder]) -> None:
    server = ntp_server(0.3)
    strict = _settings(runtime, server.address, clock_max_offset_ms=100)
    outcome = _run(runtime, strict)
    assert outcome.error is not None and outcome.error.code == "clock_offset_exceeded"
    assert "100 ms" in outcome.error.message("en")


def test_clock_checks_are_for_the_operators_only(
    backend: str, runtime: Runtime, ntp_server: Callable[..., Responder]
) -> None:
    if backend != "postgresql":
        pytest.skip("row-level security is a PostgreSQL feature")
    server = ntp_server(0.0)
    assert _run(runtime, _settings(runtime, server.address)).status == "ok"
    with runtime.db.session(tenant=uuid.uuid4()) as s:
        assert s.scalars(select(ClockCheck)).all() == []
    with runtime.db.session() as s:  # untagged: deny by default
        assert s.scalars(select(ClockCheck)).all() == []
    with runtime.db.session(system=True) as s:
        assert len(s.scalars(select(ClockCheck)).all()) == 1
