"""The IPS's decisions (EDGE-4): rate limits per IP, account and tenant; escalating bans.

:meth:`Ips.check_ip` runs for every request (edge middleware),
:meth:`Ips.check_principal` once the caller is authenticated. A flood (an IP
``HOKAN_IPS_FLOOD_FACTOR`` times over its limit) or the identity domain's
password-spraying alarm bans the address: the ban is audited on the system
chain and announced to the operators (mail outbox, and the webhook if set).
:meth:`bans` and :meth:`lift` are what an operator sees and does (CLI today).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import ip_address

from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.actions import action, succeeded
from hokan.edge.ips.errors import (
    InvalidAddress,
    NotBanned,
    RateLimited,
    SourceBanned,
    with_retry_after,
)
from hokan.edge.ips.store import Ban, BanOutcome, IpsStore
from hokan.identity import operators
from hokan.kit import metrics
from hokan.kit.actions import declare
from hokan.kit.clock import iso, to_jst
from hokan.kit.db import Database
from hokan.kit.errors import HokanError
from hokan.principals.principal import SYSTEM, Principal
from hokan.settings import Settings
from hokan.tenants.notices import notify

log = logging.getLogger("hokan.ips")
FLOOD, SPRAYING, MANUAL, ATTACK = "flood", "password_spraying", "manual", "attack"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why a request is refused; ``ban`` when this request tipped its source into a ban."""

    error: HokanError
    ban: str | None = None


def _subject(ip: str) -> str:
    return f"ip:{ip}"


def ban_json(ban: Ban) -> dict[str, object]:
    until = datetime.fromtimestamp(ban.until, UTC)
    return {
        "ip": ban.subject.removeprefix("ip:"),
        "reason": ban.reason,
        "offences": ban.offences,
        "until": iso(until),
    }


class Ips:
    def __init__(
        self,
        settings: Settings,
        store: IpsStore,
        db: Database,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.db = db
        self.clock = clock
        self.exempt = frozenset(a.strip() for a in settings.ips_exempt_ips.split(",") if a.strip())

    # -- decisions --------------------------------------------------------------

    def _retry(self, now: float) -> float:
        window = self.settings.ips_window_seconds
        return window - (now % window)

    def _banned(self, subject: str, now: float) -> Verdict:
        ban = self.store.banned(subject, now)
        retry = (ban.until - now) if ban else 1.0
        return Verdict(with_retry_after(SourceBanned(), retry))

    def check_ip(self, ip: str) -> Verdict | None:
        """None to let the request through, otherwise the refusal (and a ban to announce)."""
        s = self.settings
        if not s.ips_enabled or not ip or ip in self.exempt:
            return None
        now = self.clock()
        subject = _subject(ip)
        [count] = self.store.hit([subject], s.ips_window_seconds, now)
        if count < 0:
            return self._banned(subject, now)
        if count > s.ips_ip_requests * s.ips_flood_factor:
            return Verdict(with_retry_after(SourceBanned(), s.ips_ban_seconds), ban=FLOOD)
        if count > s.ips_ip_requests:
            return Verdict(with_retry_after(RateLimited("per-address limit"), self._retry(now)))
        return None

    def check_principal(self, principal: Principal) -> None:
        """Raise :class:`RateLimited` when the account or its tenant is over its limit."""
        s = self.settings
        if not s.ips_enabled:
            return
        now = self.clock()
        keys = [f"account:{principal.actor}"]
        if principal.tenant_id is not None:
            keys.append(f"tenant:{principal.tenant_id}")
        counts = self.store.hit(keys, s.ips_window_seconds, now)
        if counts[0] > s.ips_account_requests:
            metrics.RATE_LIMITED.labels("account").inc()
            raise with_retry_after(RateLimited("per-account limit"), self._retry(now))
        if len(counts) > 1 and counts[1] > s.ips_tenant_requests:
            metrics.RATE_LIMITED.labels("tenant").inc()
            raise with_retry_after(RateLimited("per-tenant limit"), self._retry(now))

    # -- bans -------------------------------------------------------------------

    def ban(self, ip: str, reason: str, detail: dict[str, object] | None = None) -> BanOutcome:
        """Ban an address (escalating on repeat offences); announce it if the ban is new."""
        s = self.settings
        outcome = self.store.ban(
            _subject(ip),
            reason,
            s.ips_ban_seconds,
            s.ips_ban_max_seconds,
            max(s.ips_ban_max_seconds * 2, 86_400),
            self.clock(),
        )
        if outcome.new:
            metrics.IPS_BANS.labels(reason).inc()
            self._announce(outcome.ban, detail or {})
        return outcome

    def attack(self, ip: str) -> bool:
        """The WAF blocked a request from ``ip``: enough blocks in the window ban it.

        A scanner or an attacker probing rule after rule is cut off instead of being
        answered 403 forever (whitepaper §2: 攻撃を検知した場合は通信を遮断). True when
        this block caused the ban.
        """
        s = self.settings
        if not s.ips_enabled or not ip or ip in self.exempt:
            return False
        [count] = self.store.hit([f"attack:{ip}"], s.ips_attack_window_seconds, self.clock())
        if count >= s.ips_attack_blocks:
            return self.ban(ip, ATTACK, {"waf_blocks": count}).new
        return False

    def spraying(self, ip: str, serials: int) -> None:
        """The identity domain's password-spraying alarm (``auth.spraying_suspected``)."""
        if self.settings.ips_enabled and ip and ip not in self.exempt:
            self.ban(ip, SPRAYING, {"serials": serials})

    def bans(self) -> list[Ban]:
        return self.store.bans(self.clock())

    # -- operators' unit-of-work entry points (the operator API) -------------------

    @action("ips.bans_list", "source_ip", "*")
    def list_bans(self, session: Session, principal: Principal) -> list[Ban]:
        bans = self.bans()
        succeeded(session, principal)
        return bans

    @action("ips.ban_lifted", "source_ip", lambda address: address[:64])
    def lift_ban(self, session: Session, principal: Principal, address: str) -> str:
        """Lift the ban of ``address`` (its normal form, returned); audited either way."""
        try:
            ip = str(ip_address(address))
        except ValueError:
            raise InvalidAddress from None
        declare(session, "ips.ban_lifted", "source_ip", ip, {"lifted": False})
        if not self.store.lift(_subject(ip)):
            raise NotBanned
        succeeded(session, principal, detail={"lifted": True})
        return ip

    def lift(self, ip: str, actor: Principal) -> bool:
        """Lift a ban before it runs out (audited). False when the address was not banned."""
        lifted = self.store.lift(_subject(ip))
        with self.db.session(write=True, system=True) as s:
            audit.record(
                s,
                actor,
                "ips.ban_lifted",
                "source_ip",
                ip,
                result=audit.SUCCESS if lifted else audit.ERROR,
                detail={"lifted": lifted},
            )
        return lifted

    def _announce(self, ban: Ban, detail: dict[str, object]) -> None:
        notice = ban_json(ban)
        log.warning("source banned", extra={"fields": notice})
        try:
            with self.db.session(write=True, system=True) as s:
                audit.record(
                    s,
                    SYSTEM,
                    "ips.ban",
                    "source_ip",
                    str(notice["ip"]),
                    result=audit.DENIED,
                    detail={**detail, "reason": ban.reason, "offences": ban.offences},
                )
                notify(
                    s,
                    "ips.ban",
                    tenant=None,
                    subject="【Hokan】IPSがアクセス元を遮断しました / IPS ban",
                    body=_mail_body(ban, notice),
                    # The configured list plus the operators on call (incident response).
                    operators=[*self.settings.security_notify_list, *operators.notified_emails(s)],
                )
        except Exception as exc:  # the ban holds even if its record cannot be written
            log.error("ban not recorded", extra={"fields": {"exc_type": type(exc).__name__}})
        if self.settings.ips_webhook_url:
            threading.Thread(
                target=_post, args=(self.settings.ips_webhook_url, notice), daemon=True
            ).start()


def _mail_body(ban: Ban, notice: dict[str, object]) -> str:
    until = datetime.fromtimestamp(ban.until, UTC)
    reason_ja = {
        FLOOD: "リクエストの集中 (DoS)",
        SPRAYING: "パスワードスプレー攻撃の疑い",
        ATTACK: "WAF による攻撃の連続検知",
    }
    return (
        "運用担当者様\n\n"
        "IPS が次のアクセス元を一時的に遮断しました。\n"
        f"  アドレス: {notice['ip']}\n"
        f"  理由: {reason_ja.get(ban.reason, ban.reason)}\n"
        f"  違反回数: {ban.offences}\n"
        f"  解除予定: {to_jst(until):%Y-%m-%d %H:%M} (日本時間)\n\n"
        "誤検知の場合は 'hokan ips lift <アドレス>' で解除できます。\n\n"
        "---\n"
        f"The IPS banned {notice['ip']} ({ban.reason}, offence {ban.offences}) until "
        f"{notice['until']}. Lift it with 'hokan ips lift {notice['ip']}'.\n"
    )


def _post(url: str, notice: dict[str, object]) -> None:
    body = json.dumps({"event": "ips.ban", **notice}).encode()
    request = urllib.request.Request(  # noqa: S310 (an operator-configured URL)
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass
    except OSError as exc:
        log.error("ban webhook failed", extra={"fields": {"exc_type": type(exc).__name__}})
