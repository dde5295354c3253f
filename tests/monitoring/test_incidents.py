# ruff: noqa: F811  (pytest injects the imported `smtp_server` fixture by parameter name)
"""Probes, the liveness ledger, incidents and their notices, end to end with an injected
clock: a failure opens an incident of the right class after K probes, the first notice
reaches the SMTP server within seconds of detection, a signed webhook arrives, recovery
resolves it; a prober that was not running leaves `unknown` minutes, never `up`."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from hokan.jobs.registry import Registry
from hokan.jobs.runner import execute
from hokan.jobs.worker import WorkerHost
from hokan.models import Incident, IncidentUpdate, MonitorSpan, NotificationDelivery, Tenant
from hokan.monitoring import prober, probes
from hokan.monitoring.probes import DOWN, UP, Probe, Result
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle
from tests.identity.test_lock_notice import Inbox, smtp_server  # noqa: F401

T0 = datetime(2026, 6, 1, 3, 0, 5, tzinfo=UTC)


class Fake:
    """Probe answers the test sets, per component."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}

    def probes(self, host: Any) -> list[Probe]:
        names = [
            "api",
            "system_db",
            "keyring_db",
            "blob_store",
            *[f"vault_store_{i}" for i in (1, 2, 3)],
        ]

        def run(name: str) -> Callable[[], list[Result]]:
            return lambda: [
                Result(
                    name,
                    self.status.get(name, UP),
                    "" if self.status.get(name, UP) == UP else "injected",
                )
            ]

        return [Probe((n,), run(n)) for n in names]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fake]:
    f = Fake()
    monkeypatch.setattr(prober, "probes_for", f.probes)
    prober.reset()
    yield f
    prober.reset()


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def _runtime(settings_factory: Callable[..., Settings], **overrides: Any) -> Runtime:
    rt = Runtime(settings_factory(**overrides))
    rt.keyring.verify_master(initialise=True)
    return rt


def test_an_outage_is_detected_notified_and_resolved(
    settings_factory: Callable[..., Settings],
    make_tenant: Callable[..., TenantHandle],
    fake: Fake,
    smtp_server: tuple[str, Inbox],
    webhook: str,
) -> None:
    url, inbox = smtp_server
    rt = _runtime(
        settings_factory,
        smtp_url=url,
        oncall_emails=["oncall@hokan.example"],
        monitor_webhook_url=webhook,
        monitor_webhook_secret="webhook-test-secret-0123456789",
    )
    t = make_tenant()
    with rt.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        tenant.contacts = [{"name": "総務", "email": "soumu@acme.example.jp", "roles": ["notice"]}]
    # The detecting round (the third) happens now in real time: the outbox stamps
    # real times, so the measured latency is the real one.
    clock = {"now": datetime.now(UTC) - timedelta(seconds=60)}
    host = WorkerHost(rt.settings, rt.db, rt.resolve, lambda: clock["now"])
    job = Registry(rt.settings).get("monitoring.probe")

    def tick(seconds: int = 30) -> None:
        execute(host, job, trigger="schedule")
        clock["now"] += timedelta(seconds=seconds)

    try:
        tick()
        fake.status["api"] = DOWN
        failed_at = clock["now"]
        tick()  # first failure: not yet an incident (K = 2)
        with rt.db.session(system=True) as s:
            assert s.scalars(select(Incident)).all() == []
        detected = clock["now"]
        tick()  # second consecutive failure: opened
        with rt.db.session(system=True) as s:
            (incident,) = s.scalars(select(Incident)).all()
            deliveries = s.scalars(select(NotificationDelivery)).all()
        assert (incident.outage, incident.status, incident.origin) == ("full", "open", "probe")
        assert incident.components == ["api"] and incident.functions == ["api"]
        assert incident.started_at == failed_at.replace(second=0, microsecond=0)
        assert incident.detected_at == detected
        assert incident.number.startswith("INC-2026-")
        by_channel = {d.channel for d in deliveries}
        assert by_channel == {"mail", "webhook"}
        assert all(d.status == "delivered" for d in deliveries), [
            (d.channel, d.receipt) for d in deliveries
        ]
        mails = [d for d in deliveries if d.channel == "mail"]
        assert {d.receipt for d in mails} == {"smtp 250"}
        # Handed to SMTP in the same round that detected it: well under 60 s.
        assert all(d.latency_ms is not None and d.latency_ms < 60_000 for d in deliveries)
        incident_mails = [m for m in inbox.messages if b"INC-2026-" in m]
        assert len(incident_mails) == len(mails) >= 2  # on-call, and each tenant apart
        assert any(b"INC-2026-" in m and b"oncall@hokan.example" in m for m in inbox.messages)

        headers, body = Hook.received[0]
        ts, mac = (part.split("=", 1)[1] for part in headers["Hokan-Signature"].split(","))
        expected = hmac.new(
            b"webhook-test-secret-0123456789", f"{ts}.".encode() + body, hashlib.sha256
        )
        assert hmac.compare_digest(mac, expected.hexdigest())
        assert json.loads(body)["event"] == "incident.opened"

        fake.status["vault_store_1"] = DOWN
        tick()
        tick()  # the vault is now degraded twice: the incident widens
        with rt.db.session(system=True) as s:
            incident = s.scalars(select(Incident)).one()
        assert "vault" in incident.components and "vault_write" in incident.functions

        fake.status.clear()
        last_failure = clock["now"] - timedelta(seconds=30)
        tick()
        tick()
        with rt.db.session(system=True) as s:
            incident = s.scalars(select(Incident)).one()
            kinds = [u.kind for u in s.scalars(select(IncidentUpdate).order_by(IncidentUpdate.at))]
        assert incident.status == "resolved"
        # Up again from the minute after the last failing probe's minute.
        assert incident.resolved_at == last_failure.replace(second=0, microsecond=0) + timedelta(
            minutes=1
        )
        assert kinds[0] == "detected" and "notified" in kinds and kinds[-1] == "resolved"
        assert any(b"resolved" in m for m in inbox.messages)
    finally:
        rt.close()


def test_minutes_the_prober_did_not_run_are_unknown(
    settings_factory: Callable[..., Settings], fake: Fake
) -> None:
    rt = _runtime(settings_factory)
    clock = {"now": T0}
    host = WorkerHost(rt.settings, rt.db, rt.resolve, lambda: clock["now"])
    job = Registry(rt.settings).get("monitoring.probe")
    try:
        execute(host, job, trigger="schedule")
        clock["now"] += timedelta(minutes=10, seconds=30)  # the worker was down
        execute(host, job, trigger="schedule")
        with rt.db.session(system=True) as s:
            spans = s.scalars(
                select(MonitorSpan)
                .where(MonitorSpan.component == "system_db")
                .order_by(MonitorSpan.start)
            ).all()
        assert [(x.status, int((x.end - x.start).total_seconds() // 60)) for x in spans] == [
            ("up", 1),
            ("unknown", 9),
            ("up", 1),
        ]
    finally:
        rt.close()


def test_a_system_database_outage_is_kept_and_written_when_it_is_back(
    settings_factory: Callable[..., Settings], fake: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    rt = _runtime(settings_factory)
    clock = {"now": T0}
    host = WorkerHost(rt.settings, rt.db, rt.resolve, lambda: clock["now"])
    try:
        prober.probe_round(host)
        real = rt.db.session

        def broken(*a: Any, **k: Any) -> Any:
            raise OperationalError("SELECT 1", {}, Exception("down"))

        fake.status["system_db"] = DOWN
        monkeypatch.setattr(rt.db, "session", broken)
        for _ in range(3):
            clock["now"] += timedelta(seconds=30)
            out = prober.probe_round(host)
            assert out.summary["buffered"] >= 1
        monkeypatch.setattr(rt.db, "session", real)
        fake.status.clear()
        clock["now"] += timedelta(seconds=30)
        prober.probe_round(host)
        with rt.db.session(system=True) as s:
            statuses = [
                x.status
                for x in s.scalars(
                    select(MonitorSpan)
                    .where(MonitorSpan.component == "system_db")
                    .order_by(MonitorSpan.start)
                )
            ]
            incident = s.scalars(select(Incident)).first()
        assert "down" in statuses and statuses[-1] == "up"
        assert incident is not None and incident.outage == "full"
    finally:
        rt.close()


def test_real_probes_see_a_healthy_installation(runtime: Runtime) -> None:
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve)
    results = {r.component: r for r in probes.run_all(probes.probes_for(host), 5)}
    assert results["api"].status == DOWN  # nothing listens on the default port here
    for name in (
        "system_db",
        "keyring_db",
        "blob_store",
        "vault_store_1",
        "vault_store_2",
        "vault_store_3",
    ):
        assert results[name].status == UP, results[name]


def test_a_fast_burning_error_budget_pages_once_per_episode(
    settings_factory: Callable[..., Settings], fake: Fake
) -> None:
    from hokan.models import MailMessage

    rt = _runtime(settings_factory, oncall_emails=["oncall@hokan.example"])
    clock = {"now": datetime.now(UTC)}
    host = WorkerHost(rt.settings, rt.db, rt.resolve, lambda: clock["now"])
    try:
        with rt.db.session(write=True, system=True) as s:
            s.add(
                Incident(
                    number="INC-2026-9001",
                    origin="operator",
                    outage="full",
                    status="open",
                    title_ja="全面停止",
                    title_en="Full outage",
                    components=[],
                    functions=["api"],
                    started_at=clock["now"] - timedelta(minutes=65),
                    detected_at=clock["now"] - timedelta(minutes=64),
                )
            )
        for _ in range(3):
            prober.probe_round(host)
            clock["now"] += timedelta(seconds=30)
        with rt.db.session(system=True) as s:
            pages = s.scalars(select(MailMessage).where(MailMessage.kind == "ops.slo_burn")).all()
        assert len(pages) >= 1 and all(p.recipients == ["oncall@hokan.example"] for p in pages)
        assert len({p.subject for p in pages}) == len(pages)  # each rule once, not every tick
    finally:
        rt.close()
