"""The rules of the daily internal audit (AUD-4, whitepaper §2-2-5), over one day's entries.

Pure logic: :class:`DayReview` is fed the day's audit entries one at a time
(so a busy day streams, never loads whole) plus what it needs to know about
operators, and yields :class:`Finding` values. Persisting them and letting an
auditor acknowledge them is :mod:`hokan.audit.findings`.

Rules (the whitepaper's 監査内容, made checkable):

- ``external_access`` — operator access from outside the operations network (外部アクセス).
- ``outside_hours`` — operator activity outside permitted hours (JST, per operator or global).
- ``no_consent`` — operator access to tenant data without an active consent grant.
- ``bulk_access`` — one actor viewing/exporting a tenant's data in bulk; any export by an operator.
- ``privileged_action`` — key operations, restores, disposal, role and account changes (OPS-3).
- ``temporary_account`` — a temporary account used outside its tenant or after its expiry.
- ``mynumber_access`` — vault access (or attempts) by anyone but the tenant's My Number clerks.
- ``volume_anomaly`` — an actor far above its own normal daily volume.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from hokan.kit.clock import to_jst
from hokan.kit.network import in_networks

MAX_ENTRY_IDS = 50
HIGH, MEDIUM, LOW = "high", "medium", "low"

PRIVILEGED_PREFIXES = ("keys.", "restore.", "backup.restore", "disposal.", "lifecycle.")
PRIVILEGED_ACTIONS = frozenset(
    {
        "operator.create",
        "operator.create_temporary",
        "operator.set_roles",
        "operator.enable",
        "tenant.terminate",
        "tenant.suspend",
        "tenant.resume",
        "audit.archive",
        "accounts.disable_dormant",
        "ips.ban_lifted",
    }
)
_READ_SUFFIXES = (
    ".read",
    ".list",
    ".history",
    ".revision_read",
    ".export",
    ".export_bundle",
    ".download",
    ".reveal",
)
_EXPORT_WORDS = ("export", "bundle", "download", "csv")
# Vault maintenance that reads no contents (scheduled deletion, fragment check and
# repair), run by the system or the host's CLI: not an access to numbers.
_VAULT_MAINTENANCE = frozenset({"vault.purge", "vault.entry.purge", "vault.check", "vault.repair"})


@dataclass(frozen=True)
class OperatorInfo:
    permitted_hours: str  # "" = the global setting
    temporary: bool
    bound_tenant: uuid.UUID | None
    expires_at: datetime | None


@dataclass
class Finding:
    rule: str
    severity: str
    subject: str
    actor: str
    summary: str
    tenant_id: uuid.UUID | None = None
    entry_ids: list[str] = field(default_factory=list)
    entry_count: int = 0

    def add(self, entry_id: str) -> None:
        self.entry_count += 1
        if len(self.entry_ids) < MAX_ENTRY_IDS:
            self.entry_ids.append(entry_id)


def parse_hours(text: str) -> tuple[time, time]:
    start, _, end = text.partition("-")
    h1, m1 = (int(x) for x in start.split(":"))
    h2, m2 = (int(x) for x in end.split(":"))
    return time(h1, m1), (time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2))


def within_hours(moment: datetime, hours: str) -> bool:
    start, end = parse_hours(hours)
    local = to_jst(moment).time()
    if start <= end:
        return start <= local <= end
    return local >= start or local <= end  # an overnight window, e.g. 22:00-06:00


def _is_data_read(action: str) -> bool:
    return action.endswith(_READ_SUFFIXES) or action in {"audit.read", "audit.events"}


@dataclass
class DayReview:
    operator_cidrs: Sequence[IPv4Network | IPv6Network]
    global_hours: str
    bulk_threshold: int
    anomaly_factor: float
    anomaly_min_events: int
    operators: Mapping[str, OperatorInfo]  # by operator id
    baseline: Mapping[str, float]  # actor → mean entries per day over the previous days
    _findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    _reads: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    _volume: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examined: int = 0

    def _finding(
        self,
        rule: str,
        severity: str,
        subject: str,
        actor: str,
        summary: str,
        tenant_id: uuid.UUID | None = None,
    ) -> Finding:
        key = (rule, subject)
        if key not in self._findings:
            self._findings[key] = Finding(rule, severity, subject, actor, summary, tenant_id)
        return self._findings[key]

    def feed(self, e: Mapping[Any, Any]) -> None:
        """One audit entry: id, occurred_at, tenant_id, actor_type, actor_id, role,
        action, source_ip, result, detail."""
        self.examined += 1
        entry_id = str(e["id"])
        action: str = e["action"]
        actor = f"{e['actor_type']}:{e['actor_id']}"
        tenant: uuid.UUID | None = e["tenant_id"]
        detail: Mapping[str, Any] = e["detail"] or {}
        is_operator = e["actor_type"] == "operator"
        from_cli = str(e["actor_id"]).startswith("cli:")  # the host's own console
        self._volume[actor] += 1

        if action == "operator.network_denied" or (
            is_operator and e["source_ip"] and not in_networks(e["source_ip"], self.operator_cidrs)
        ):
            self._finding(
                "external_access",
                HIGH,
                f"{actor}@{e['source_ip']}",
                actor,
                f"operator access from outside the operations network ({e['source_ip']})",
            ).add(entry_id)

        info = self.operators.get(str(e["actor_id"])) if is_operator else None
        if is_operator and not from_cli:
            hours = (info.permitted_hours if info else "") or self.global_hours
            if not within_hours(e["occurred_at"], hours):
                self._finding(
                    "outside_hours",
                    MEDIUM,
                    actor,
                    actor,
                    f"operator activity outside permitted hours ({hours} JST)",
                ).add(entry_id)

        if action == "operator.tenant_access" and e["result"] == "denied":
            self._finding(
                "no_consent",
                HIGH,
                f"{actor}@{tenant}",
                actor,
                f"operator tried to enter a tenant without consent ({detail.get('reason', '')})",
                tenant,
            ).add(entry_id)
        elif (
            is_operator
            and not from_cli
            and tenant is not None
            and not action.startswith("operator.")
            and not detail.get("grant")
        ):
            self._finding(
                "no_consent",
                HIGH,
                f"{actor}@{tenant}",
                actor,
                "operator action on tenant data without a consent grant",
                tenant,
            ).add(entry_id)

        if _is_data_read(action) and tenant is not None and e["result"] == "success":
            self._reads[(actor, str(tenant))].append(entry_id)
            if is_operator and any(word in action for word in _EXPORT_WORDS):
                self._finding(
                    "bulk_access",
                    HIGH,
                    f"{actor}@{tenant}:export",
                    actor,
                    f"operator exported customer data ({action})",
                    tenant,
                ).add(entry_id)

        if action in PRIVILEGED_ACTIONS or action.startswith(PRIVILEGED_PREFIXES):
            self._finding(
                "privileged_action",
                LOW,
                f"{actor}:{action}",
                actor,
                f"privileged action {action} for review",
                tenant,
            ).add(entry_id)

        if info is not None and info.temporary:
            reason = ""
            if tenant is not None and tenant != info.bound_tenant:
                reason = "outside the tenant of its request"
            elif info.expires_at is not None and e["occurred_at"] > info.expires_at:
                reason = "after its expiry"
            elif detail.get("reason") in ("expired", "temporary_account_other_tenant"):
                reason = "attempted use beyond its request"
            if reason:
                self._finding(
                    "temporary_account",
                    HIGH,
                    actor,
                    actor,
                    f"temporary investigation account used {reason}",
                    tenant,
                ).add(entry_id)

        if action.startswith("vault."):
            roles = set(str(e["role"]).split(","))
            clerk = e["actor_type"] == "user" and "mynumber_clerk" in roles
            own_client = e["actor_type"] == "token" and e["result"] == "success"
            maintenance = action in _VAULT_MAINTENANCE and (e["actor_type"] == "system" or from_cli)
            if not (clerk or own_client or maintenance):
                self._finding(
                    "mynumber_access",
                    HIGH,
                    f"{actor}@{tenant}",
                    actor,
                    f"My Number vault {action} by someone not a clerk of the tenant",
                    tenant,
                ).add(entry_id)

    def findings(self) -> Iterator[Finding]:
        yield from self._findings.values()
        for (actor, tenant), ids in self._reads.items():
            if len(ids) >= self.bulk_threshold:
                f = Finding(
                    "bulk_access",
                    MEDIUM,
                    f"{actor}@{tenant}",
                    actor,
                    f"{len(ids)} reads of one tenant's data in a day "
                    f"(threshold {self.bulk_threshold})",
                    uuid.UUID(tenant),
                )
                for entry_id in ids:
                    f.add(entry_id)
                yield f
        for actor, count in self._volume.items():
            normal = self.baseline.get(actor, 0.0)
            if count >= self.anomaly_min_events and count >= self.anomaly_factor * max(normal, 1):
                yield Finding(
                    "volume_anomaly",
                    MEDIUM,
                    actor,
                    actor,
                    f"{count} entries in a day against a normal of {normal:.1f}",
                    entry_count=count,
                )
