"""A week of operations records, written as the domains write them, for the report tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from hokan.audit import service as audit
from hokan.kit.clock import utcnow
from hokan.models import (
    AuditDailyRun,
    AuditFinding,
    BackupDrill,
    ClockCheck,
    HostSample,
    Incident,
    JobRun,
    MaintenanceWindow,
    MetricsSnapshot,
    MonitorSpan,
)
from hokan.principals.principal import ANONYMOUS, SYSTEM
from hokan.reports.period import Week
from hokan.runtime import Runtime
from tests.conftest import TenantHandle


@dataclass(frozen=True)
class Filled:
    week: Week
    incident_number: str
    other_incident_number: str
    other_tenant_code: str


def _snapshot(at: object, count: float, errors: float) -> MetricsSnapshot:
    return MetricsSnapshot(
        taken_at=at,
        host="app-1",
        boot="b1",
        data={
            "buckets": {"0.05": count * 0.9, "0.25": count * 0.98, "1.0": count, "+Inf": count},
            "count": count,
            "sum": count * 0.03,
            "status": {"2xx": count - errors, "5xx": errors},
            "bytes_in": count * 500,
            "bytes_out": count * 2000,
        },
    )


def fill_week(runtime: Runtime, mine: TenantHandle, other: TenantHandle) -> Filled:
    """Records of every category in the current JST week: some the tenant's own
    (``mine``), some another tenant's (``other``), most service-wide."""
    now = utcnow().replace(microsecond=0)
    week = Week.of(now)
    start = week.start
    earlier = max(start, now - timedelta(hours=2))
    with runtime.db.session(write=True, system=True) as s:
        for klass, size in (("daily", 1000), ("vault", 300)):
            audit.record(
                s,
                SYSTEM,
                "backup.run",
                "generation",
                f"g-{klass}",
                detail={"class": klass, "target": "local", "files": 3, "bytes": size},
            )
        audit.record(
            s,
            SYSTEM,
            "backup.run",
            "local",
            result=audit.ERROR,
            detail={"class": "monthly", "target": "remote", "error": "target_unavailable"},
        )
        audit.record(
            s,
            SYSTEM,
            "backup.restore",
            "generation",
            "20261201T020000Z-daily-abcdef",
            detail={"seconds": "42.5"},
        )
        audit.record(
            s,
            ANONYMOUS,
            "waf.blocked",
            "route",
            "/api/v1/x",
            result=audit.DENIED,
            detail={"rules": ["sqli-union", "sqli-tautology"], "suppressed_since_last": 4},
        )
        audit.record(
            s,
            ANONYMOUS,
            "waf.blocked",
            "route",
            "/api/v1/y",
            result=audit.DENIED,
            detail={"rules": ["xss-script-tag"]},
        )
        audit.record(
            s,
            ANONYMOUS,
            "edge.refused",
            "request",
            "/",
            result=audit.DENIED,
            detail={"error": "country_not_allowed", "repeats": 2},
        )
        audit.record(
            s,
            SYSTEM,
            "ips.ban",
            "source_ip",
            "203.0.113.9",
            result=audit.DENIED,
            detail={"reason": "flood", "offences": 1},
        )
        audit.record(
            s,
            ANONYMOUS,
            "auth.spraying_suspected",
            "source_ip",
            "203.0.113.10",
            result=audit.DENIED,
            detail={"serials": 12},
        )
        for t, n in ((mine, 1), (other, 2)):
            for _ in range(n):
                audit.record(s, SYSTEM, "auth.lock", "user", "1234", tenant_id=t.id)
            audit.record(
                s,
                SYSTEM,
                "attachments.upload",
                "attachment",
                "staff/r1",
                tenant_id=t.id,
                detail={"scanner": "yara"},
            )
        audit.record(
            s,
            SYSTEM,
            "attachments.quarantined",
            "attachment",
            "staff/r2",
            result=audit.DENIED,
            tenant_id=other.id,
            detail={"scanner": "yara", "signature": "EICAR-Test-File"},
        )
        s.add(
            BackupDrill(
                requested_at=earlier,
                requested_by="schedule",
                trigger="schedule",
                status="passed",
                generation="20261201T020000Z-daily-abcdef",
                target="local",
                tenant_code=other.tenant.code,
                started_at=earlier,
                finished_at=earlier + timedelta(seconds=96),
                seconds=95.5,
            )
        )
        s.add(
            JobRun(
                job="backup.verify",
                trigger="schedule",
                started_at=earlier,
                finished_at=earlier,
                status="ok",
                summary={"generations": 2},
                worker="w",
            )
        )
        s.add(
            MonitorSpan(
                component="api",
                location="primary",
                status="up",
                start=earlier,
                end=earlier + timedelta(minutes=50),
                probes=100,
            )
        )
        s.add(
            MonitorSpan(
                component="api",
                location="primary",
                status="down",
                start=earlier + timedelta(minutes=50),
                end=earlier + timedelta(minutes=60),
                probes=20,
            )
        )
        for i in range(4):
            s.add(
                HostSample(
                    taken_at=earlier + timedelta(minutes=10 * i),
                    host="app-1",
                    cpu_percent=20.0 + i,
                    memory_percent=50.0,
                    disk_percent=40.0,
                    disk_free_bytes=50 * 1024**3,
                    load1=0.5,
                )
            )
            s.add(_snapshot(earlier + timedelta(minutes=10 * i), 1000.0 * (i + 1), 5.0 * i))
        s.add(
            AuditDailyRun(
                audit_date=week.monday,
                started_at=earlier,
                finished_at=earlier,
                entries_examined=321,
                findings=1,
            )
        )
        s.add(
            AuditFinding(
                audit_date=week.monday,
                rule="off_hours",
                severity="warning",
                subject=f"x-{uuid.uuid4().hex[:6]}",
                actor="op",
                tenant_id=other.id,
                summary="許可されていない時間帯のアクセス",
                entry_ids=[],
                entry_count=1,
            )
        )
        check = uuid.uuid4()
        s.add(
            ClockCheck(
                check_id=check,
                checked_at=earlier,
                server="ntp.nict.jp:123",
                answered=True,
                offset_seconds=0.0123,
                delay_seconds=0.01,
                stratum=1,
                chosen=True,
                result="ok",
                max_offset_ms=1000,
            )
        )
        s.add(
            MaintenanceWindow(
                tenant_id=None,
                starts_at=now + timedelta(days=20),
                ends_at=now + timedelta(days=20, hours=2),
                reason_ja="ストレージ交換",
                announced_at=earlier,
            )
        )
        s.add(
            MaintenanceWindow(
                tenant_id=other.id,
                starts_at=now + timedelta(days=21),
                ends_at=now + timedelta(days=21, hours=1),
                reason_ja="他社だけの作業",
                announced_at=earlier,
            )
        )
        number = f"INC-{now.year}-{uuid.uuid4().int % 9000 + 1000}"
        other_number = f"INC-{now.year}-{uuid.uuid4().int % 9000 + 1000}"
        for num, tenants, cause in (
            (number, None, "ネットワーク機器の故障"),
            (other_number, [str(other.id)], "他社のみの設定誤り"),
        ):
            s.add(
                Incident(
                    number=num,
                    origin="probe",
                    outage="full",
                    status="resolved",
                    title_ja="API が応答しません",
                    title_en="API down",
                    components=["api"],
                    functions=["api"],
                    tenant_ids=tenants,
                    started_at=earlier + timedelta(minutes=50),
                    detected_at=earlier + timedelta(minutes=51),
                    notified_at=earlier + timedelta(minutes=52),
                    resolved_at=earlier + timedelta(minutes=60),
                    cause=cause,
                    response="機器の交換",
                    prevention="予備機の常設",
                )
            )
    return Filled(week, number, other_number, other.tenant.code)
