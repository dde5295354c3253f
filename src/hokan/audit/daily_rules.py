"""The rules of the daily internal audit (AUD-4, whitepaper §2-2-5), over one day's entries.

Pure logic: :class:`DayReview` is fed the day's audit entries one at a time
(so a busy day streams, never loads whole) plus what it needs to know about
operators and each actor's normal volume, and yields :class:`Finding` values.
Persisting them and letting an auditor acknowledge them is :mod:`hokan.audit.findings`.

Each entry's accessor is first classified by principal kind (:class:`Accessor`,
:func:`classify`): the whitepaper's premise (§3-2-2) is that My Numbers are reached
only from the customer's own applications, so the tenant's application token and
its My Number clerks are legitimate vault accessors, and what is flagged is
everyone else, and a legitimate accessor's volume far above its own normal.

The rules are :data:`RULES`, one small class each (the whitepaper's 監査内容, made
checkable); adding a rule is adding one entry there. ``hokan audit rules`` lists them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network
from typing import Any, ClassVar

from hokan.kit.clock import to_jst
from hokan.kit.network import in_networks

MAX_ENTRY_IDS = 50
HIGH, MEDIUM, LOW = "high", "medium", "low"
SUCCESS, DENIED = "success", "denied"

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
# What shows a My Number or an identity document in full.
VAULT_REVEALS = frozenset({"vault.number.reveal", "vault.document.download"})
CLERK_ROLE = "mynumber_clerk"


class Accessor(StrEnum):
    """Who acted, by principal kind: what the rules judge an entry by."""

    clerk = "clerk"  # a tenant user's session holding the My Number clerk role
    tenant_user = "tenant_user"  # a tenant user's session without that role
    application = "application"  # a tenant API token: the customer's own application
    personal_token = "personal_token"  # noqa: S105  (a user's personal API token, for that user)
    operator = "operator"  # a Hokan operator's session (under a consent grant or not)
    console = "console"  # the host's own CLI (`hokan …` on the server, operator "cli:…")
    system = "system"  # scheduled jobs
    anonymous = "anonymous"  # no valid credentials (and any kind this code does not know)


# Who may reach the vault at all (MYN-4): everything else touching it is a finding.
VAULT_ACCESSORS = frozenset({Accessor.clerk, Accessor.application, Accessor.personal_token})
_OPERATORS = frozenset({Accessor.operator, Accessor.console})


def classify(actor_type: str, actor_id: str, role: str, detail: Mapping[str, Any]) -> Accessor:
    """The accessor of one audit entry, from what every entry records.

    A personal token is told from the tenant's application token by ``detail.for_user``
    (recorded since the daily audit classifies accessors); an older token entry counts as
    the application's, which changes no finding: a refused vault attempt by any token is
    flagged, and a personal token never holds more than its user's own permissions.
    An actor type this code does not know is taken as anonymous (entitled to nothing).
    """
    if actor_type == "user":
        return Accessor.clerk if CLERK_ROLE in role.split(",") else Accessor.tenant_user
    if actor_type == "token":
        return Accessor.personal_token if detail.get("for_user") else Accessor.application
    if actor_type == "operator":
        return Accessor.console if actor_id.startswith("cli:") else Accessor.operator
    if actor_type == "system":
        return Accessor.system
    return Accessor.anonymous


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


@dataclass
class Tally:
    """How many entries of a kind one actor made, with the first ids (memory stays bounded)."""

    tenant_id: uuid.UUID | None
    count: int = 0
    ids: list[str] = field(default_factory=list)

    def add(self, entry_id: str) -> None:
        self.count += 1
        if len(self.ids) < MAX_ENTRY_IDS:
            self.ids.append(entry_id)

    def into(self, finding: Finding) -> Finding:
        finding.entry_ids, finding.entry_count = list(self.ids), self.count
        return finding


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


def is_data_read(action: str) -> bool:
    return action.endswith(_READ_SUFFIXES) or action in {"audit.read", "audit.events"}


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit entry as the rules see it."""

    id: str
    occurred_at: datetime
    tenant: uuid.UUID | None
    actor_type: str
    actor_id: str
    accessor: Accessor
    action: str
    source_ip: str | None
    result: str
    detail: Mapping[str, Any]

    @classmethod
    def of(cls, e: Mapping[Any, Any]) -> Entry:
        detail: Mapping[str, Any] = e["detail"] or {}
        actor_id = str(e["actor_id"])
        return cls(
            id=str(e["id"]),
            occurred_at=e["occurred_at"],
            tenant=e["tenant_id"],
            actor_type=str(e["actor_type"]),
            actor_id=actor_id,
            accessor=classify(str(e["actor_type"]), actor_id, str(e["role"] or ""), detail),
            action=e["action"],
            source_ip=e["source_ip"],
            result=e["result"],
            detail=detail,
        )

    @property
    def actor(self) -> str:
        return f"{self.actor_type}:{self.actor_id}"

    @property
    def operator(self) -> bool:
        """An operator's own session (not the host's console)."""
        return self.accessor is Accessor.operator

    @property
    def read_of_tenant_data(self) -> bool:
        return self.tenant is not None and self.result == SUCCESS and is_data_read(self.action)

    @property
    def reveal(self) -> bool:
        return self.result == SUCCESS and self.action in VAULT_REVEALS


@dataclass(frozen=True)
class Hit:
    """What a rule found in one entry (or over the day): grouped into a finding by subject."""

    subject: str
    summary: str
    tenant_id: uuid.UUID | None = None


class Rule:
    """One check of the daily audit: a stable name, a severity and what it flags.

    ``see`` judges one entry (a :class:`Hit` or None); ``close`` yields the findings
    that only the whole day shows (volumes), from the tallies :class:`DayReview` keeps.
    """

    name: ClassVar[str]
    severity: ClassVar[str]
    description_ja: ClassVar[str]
    description_en: ClassVar[str]

    def see(self, day: DayReview, e: Entry) -> Hit | None:
        return None

    def close(self, day: DayReview) -> Iterator[Finding]:
        return iter(())

    def finding(self, subject: str, actor: str, summary: str, tenant: uuid.UUID | None) -> Finding:
        return Finding(self.name, self.severity, subject, actor, summary, tenant)


class ExternalAccess(Rule):
    name = "external_access"
    severity = HIGH
    description_ja = "運用ネットワーク外からのオペレーターのアクセス（外部アクセス）"
    description_en = "operator access from outside the operations network (外部アクセス)"

    def see(self, day: DayReview, e: Entry) -> Hit | None:
        ip = e.source_ip
        outside = e.accessor in _OPERATORS and ip and not in_networks(ip, day.operator_cidrs)
        if e.action == "operator.network_denied" or outside:
            return Hit(
                f"{e.actor}@{e.source_ip}",
                f"operator access from outside the operations network ({e.source_ip})",
            )
        return None


class OutsideHours(Rule):
    name = "outside_hours"
    severity = MEDIUM
    description_ja = "許可時間帯外のオペレーターの操作（JST、オペレーター別または全体の設定）"
    description_en = "operator activity outside permitted hours (JST, per operator or global)"

    def see(self, day: DayReview, e: Entry) -> Hit | None:
        if not e.operator:
            return None
        info = day.operators.get(e.actor_id)
        hours = (info.permitted_hours if info else "") or day.global_hours
        if within_hours(e.occurred_at, hours):
            return None
        return Hit(e.actor, f"operator activity outside permitted hours ({hours} JST)")


class NoConsent(Rule):
    name = "no_consent"
    severity = HIGH
    description_ja = (
        "お客様の承諾（有効な同意）のないテナントデータへのオペレーターのアクセス、"
        "または同意の範囲を超えた操作"
    )
    description_en = (
        "operator access to tenant data without an active consent grant, "
        "or beyond what the grant covers"
    )

    def see(self, day: DayReview, e: Entry) -> Hit | None:
        if e.action == "operator.tenant_access" and e.result == DENIED:
            reason = e.detail.get("reason", "")
            summary = f"operator tried to enter a tenant without consent ({reason})"
            return Hit(f"{e.actor}@{e.tenant}", summary, e.tenant)
        if not e.operator or e.tenant is None or e.action.startswith("operator."):
            return None
        if not e.detail.get("grant"):
            summary = "operator action on tenant data without a consent grant"
            return Hit(f"{e.actor}@{e.tenant}", summary, e.tenant)
        if e.result == DENIED:  # refused under the grant: beyond what it covers
            summary = f"operator {e.action} beyond what its consent grant covers"
            return Hit(f"{e.actor}@{e.tenant}", summary, e.tenant)
        return None


class OperatorExport(Rule):
    name = "operator_export"
    severity = HIGH
    description_ja = "オペレーターまたはホストのCLIによるお客様データのエクスポート（複製）"
    description_en = "an export (copy) of customer data by an operator or the host's CLI"

    def see(self, day: DayReview, e: Entry) -> Hit | None:
        exported = any(word in e.action for word in _EXPORT_WORDS)
        if e.accessor in _OPERATORS and e.read_of_tenant_data and exported:
            summary = f"operator exported customer data ({e.action})"
            return Hit(f"{e.actor}@{e.tenant}:export", summary, e.tenant)
        return None


class BulkAccess(Rule):
    name = "bulk_access"
    severity = MEDIUM
    description_ja = (
        "1日に1テナントのデータを大量に閲覧した利用者（しきい値以上。テナントの"
        "アプリケーショントークンは、さらに自身の平常値を大きく超えた場合のみ）"
    )
    description_en = (
        "one actor viewing a tenant's data in bulk in a day (the threshold; the tenant's "
        "application token only when also far above its own normal)"
    )

    def close(self, day: DayReview) -> Iterator[Finding]:
        for (actor, tenant), tally in day.reads.items():
            count = tally.count
            if count < day.bulk_threshold:
                continue
            normal = day.read_baseline.get(actor, 0.0)
            if actor in day.applications and count < day.anomaly_factor * max(normal, 1):
                continue  # the customer's application at its usual pace
            f = self.finding(
                f"{actor}@{tenant}",
                actor,
                f"{count} reads of one tenant's data in a day (threshold {day.bulk_threshold}"
                + (f", normal {normal:.1f}" if actor in day.applications else "")
                + ")",
                tally.tenant_id,
            )
            yield tally.into(f)


class PrivilegedAction(Rule):
    name = "privileged_action"
    severity = LOW
    description_ja = "鍵操作・リストア・廃棄・ロールやアカウントの変更など特権操作（確認用）"
    description_en = "key operations, restores, disposal, role and account changes (for review)"

    def see(self, day: DayReview, e: Entry) -> Hit | None:
        if e.action in PRIVILEGED_ACTIONS or e.action.startswith(PRIVILEGED_PREFIXES):
            return Hit(
                f"{e.actor}:{e.action}", f"privileged action {e.action} for review", e.tenant
            )
        return None


class TemporaryAccount(Rule):
    name = "temporary_account"
    severity = HIGH
    description_ja = "一時調査アカウントの依頼テナント外または期限後の利用"
    description_en = "a temporary investigation account used outside its tenant or after expiry"

    def see(self, day: DayReview, e: Entry) -> Hit | None:
        info = day.operators.get(e.actor_id) if e.operator else None
        if info is None or not info.temporary:
            return None
        reason = ""
        if e.tenant is not None and e.tenant != info.bound_tenant:
            reason = "outside the tenant of its request"
        elif info.expires_at is not None and e.occurred_at > info.expires_at:
            reason = "after its expiry"
        elif e.detail.get("reason") in ("expired", "temporary_account_other_tenant"):
            reason = "attempted use beyond its request"
        if not reason:
            return None
        return Hit(e.actor, f"temporary investigation account used {reason}", e.tenant)


class MyNumberAccess(Rule):
    name = "mynumber_access"
    severity = HIGH
    description_ja = (
        "事務取扱担当者・テナントのアプリケーション以外による個人番号保管庫の利用や試行"
        "（事務取扱担当者でない利用者、オペレーター（同意があっても）、保守以外のシステム、"
        "拒否されたトークン、認証なし）"
    )
    description_en = (
        "vault use or attempts by anyone but the tenant's clerks and application (a user "
        "without the clerk role, an operator even under a grant, the system outside "
        "maintenance, a refused token, no credentials)"
    )

    def see(self, day: DayReview, e: Entry) -> Hit | None:
        if not e.action.startswith("vault."):
            return None
        who = e.accessor
        if who is Accessor.clerk:
            return None  # the tenant's 事務取扱担当者, whatever the outcome
        if who in VAULT_ACCESSORS and e.result != DENIED:
            return None  # the application at work (an invalid purpose or a 404 is its error)
        if who in (Accessor.system, Accessor.console) and e.action in _VAULT_MAINTENANCE:
            return None  # scheduled deletion, fragment check and repair: no contents read
        summary = {
            Accessor.application: f"My Number vault {e.action} refused to the tenant's token",
            Accessor.personal_token: f"My Number vault {e.action} refused to a personal token",
            Accessor.tenant_user: f"My Number vault {e.action} by a user who is not a clerk",
            Accessor.operator: f"My Number vault {e.action} by an operator (no grant covers it)",
        }.get(who, f"My Number vault {e.action} by {who.value}, not a clerk of the tenant")
        return Hit(f"{e.actor}@{e.tenant}", summary, e.tenant)


class RevealVolume(Rule):
    name = "reveal_volume"
    severity = HIGH
    description_ja = (
        "個人番号の表示・本人確認書類の取得が、その利用者（アプリケーショントークンを含む）の"
        "平常値を大きく超えた"
    )
    description_en = (
        "My Number reveals or document downloads far above the accessor's own normal "
        "(the application token's included)"
    )

    def close(self, day: DayReview) -> Iterator[Finding]:
        for actor, tally in day.reveals.items():
            count, normal = tally.count, day.reveal_baseline.get(actor, 0.0)
            if count < day.reveal_min_events or count < day.anomaly_factor * max(normal, 1):
                continue
            f = self.finding(
                actor,
                actor,
                f"{count} My Number reveals in a day against a normal of {normal:.1f}",
                tally.tenant_id,
            )
            yield tally.into(f)


class VolumeAnomaly(Rule):
    name = "volume_anomaly"
    severity = MEDIUM
    description_ja = "利用者の1日の操作量が自身の平常値を大きく超えた"
    description_en = "an actor far above its own normal daily volume"

    def close(self, day: DayReview) -> Iterator[Finding]:
        for actor, count in day.volume.items():
            normal = day.baseline.get(actor, 0.0)
            if count >= day.anomaly_min_events and count >= day.anomaly_factor * max(normal, 1):
                f = self.finding(
                    actor, actor, f"{count} entries in a day against a normal of {normal:.1f}", None
                )
                f.entry_count = count
                yield f


RULES: tuple[Rule, ...] = (
    ExternalAccess(),
    OutsideHours(),
    NoConsent(),
    OperatorExport(),
    BulkAccess(),
    PrivilegedAction(),
    TemporaryAccount(),
    MyNumberAccess(),
    RevealVolume(),
    VolumeAnomaly(),
)


@dataclass
class DayReview:
    operator_cidrs: Sequence[IPv4Network | IPv6Network]
    global_hours: str
    bulk_threshold: int
    anomaly_factor: float
    anomaly_min_events: int
    operators: Mapping[str, OperatorInfo]  # by operator id
    baseline: Mapping[str, float]  # actor → mean entries per day over the previous days
    read_baseline: Mapping[str, float] = field(default_factory=dict)  # … reads of tenant data
    reveal_baseline: Mapping[str, float] = field(default_factory=dict)  # … vault reveals
    reveal_min_events: int = 50
    rules: Sequence[Rule] = RULES
    # The day's tallies, kept for the rules that judge the whole day.
    reads: dict[tuple[str, str], Tally] = field(default_factory=dict)  # by actor and tenant
    reveals: dict[str, Tally] = field(default_factory=dict)  # by actor
    volume: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    applications: set[str] = field(default_factory=set)  # actors that are application tokens
    examined: int = 0
    _findings: dict[tuple[str, str], Finding] = field(default_factory=dict)

    def feed(self, row: Mapping[Any, Any]) -> None:
        """One audit entry: id, occurred_at, tenant_id, actor_type, actor_id, role,
        action, source_ip, result, detail."""
        self.examined += 1
        e = Entry.of(row)
        self.volume[e.actor] += 1
        if e.accessor is Accessor.application:
            self.applications.add(e.actor)
        if e.read_of_tenant_data:
            self.reads.setdefault((e.actor, str(e.tenant)), Tally(e.tenant)).add(e.id)
        if e.reveal:
            self.reveals.setdefault(e.actor, Tally(e.tenant)).add(e.id)
        for rule in self.rules:
            hit = rule.see(self, e)
            if hit is not None:
                key = (rule.name, hit.subject)
                if key not in self._findings:
                    self._findings[key] = rule.finding(
                        hit.subject, e.actor, hit.summary, hit.tenant_id
                    )
                self._findings[key].add(e.id)

    def findings(self) -> Iterator[Finding]:
        yield from self._findings.values()
        for rule in self.rules:
            yield from rule.close(self)
