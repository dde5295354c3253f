"""Network admission (EDGE-2): only Japanese addresses, decided offline.

Country data: the ``iptocc`` package (3.x), the five Regional Internet
Registries' delegation files compiled into its wheel, looked up in Rust in
about 0.1 µs (measured in ``bench/edge.py``); no file is read at run time and
no network is used. It answers ``None`` for unallocated, reserved, private,
loopback and IPv4-mapped IPv6 addresses, so mapped addresses are unwrapped
first and everything without a country is refused, unless it falls in
``HOKAN_LOCAL_NETWORKS`` (loopback by default outside production).

The client address is the socket peer, or, when the peer is one of
``HOKAN_TRUSTED_PROXIES``, the right-most address in ``X-Forwarded-For`` that
is not itself a trusted proxy. That address becomes *the* client address for
everything downstream: ``scope["client"]``, the audit trail's
``source_ip_var`` and :func:`client_ip`. Forwarding headers are removed so no
later layer can read a caller-chosen value.
"""

from __future__ import annotations

import threading
import time
import uuid
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING, Any

import iptocc
from sqlalchemy import bindparam, select
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from hokan.audit.context import source_ip_var
from hokan.edge.refusals import refuse
from hokan.kit import metrics
from hokan.kit.db import Database
from hokan.kit.errors import Forbidden
from hokan.models import Tenant

if TYPE_CHECKING:
    from hokan.edge.host import EdgeHost

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
STATE_KEY = "hokan.client_ip"
_FORWARDING_HEADERS = frozenset({b"x-forwarded-for", b"x-real-ip", b"forwarded"})


class CountryNotAllowed(Forbidden):
    code = "country_not_allowed"
    message_ja = "この国・地域からは接続できません (日本国内のみ)。"
    message_en = "Connections are accepted from Japan only."


class AddressUnknown(Forbidden):
    code = "address_unknown"
    message_ja = "接続元のIPアドレスを確認できないため接続できません。"
    message_en = "The source address cannot be verified, so the connection is refused."


_REFUSAL_CLASSES = (CountryNotAllowed, AddressUnknown)


class NetworkNotAllowed(Forbidden):
    code = "network_not_allowed"
    message_ja = "このテナントでは、この接続元ネットワークからの利用は許可されていません。"
    message_en = "This tenant does not allow access from this network."


@lru_cache(maxsize=16_384)
def parse_address(text: str) -> IPAddress | None:
    """An address, IPv4-mapped IPv6 unwrapped; None when it is not one. Cached: the
    same clients come back, and parsing costs more than everything else here."""
    try:
        addr = ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


class NetworkSet:
    """CIDRs as merged, sorted integer ranges per IP version: membership is a bisect
    (``ipaddress``'s ``addr in network`` costs microseconds per network)."""

    def __init__(self, networks: Iterable[Network]) -> None:
        ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for net in networks:
            ranges[net.version].append((int(net.network_address), int(net.broadcast_address)))
        self._starts: dict[int, list[int]] = {}
        self._ends: dict[int, list[int]] = {}
        for version, items in ranges.items():
            merged: list[tuple[int, int]] = []
            for first, last in sorted(items):
                if merged and first <= merged[-1][1] + 1:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], last))
                else:
                    merged.append((first, last))
            self._starts[version] = [a for a, _ in merged]
            self._ends[version] = [b for _, b in merged]

    def __bool__(self) -> bool:
        return any(self._starts.values())

    def __contains__(self, addr: IPAddress) -> bool:
        starts = self._starts[addr.version]
        value = int(addr)
        i = bisect_right(starts, value) - 1
        return i >= 0 and value <= self._ends[addr.version][i]


def resolve(
    peer: str, forwarded_for: list[str], trusted: NetworkSet | tuple[Network, ...]
) -> IPAddress | None:
    """The client address: the peer, or the right-most untrusted hop when the peer is trusted."""
    addr = parse_address(peer)
    if addr is None or not trusted or not forwarded_for:
        return addr
    if not isinstance(trusted, NetworkSet):
        trusted = NetworkSet(trusted)
    if addr not in trusted:
        return addr
    hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        hop_addr = parse_address(hop)
        if hop_addr is None:
            return None  # a trusted proxy handed us garbage: refuse rather than guess
        addr = hop_addr
        if hop_addr not in trusted:
            return hop_addr
    return addr  # every hop is a proxy of ours: the left-most is the client


_REFUSALS: dict[str, type[Forbidden]] = {c.code: c for c in _REFUSAL_CLASSES}


class GeoPolicy:
    def __init__(self, countries: Iterable[str], local: Iterable[Network]) -> None:
        self.countries = frozenset(countries)
        self.local = NetworkSet(local)
        self._verdict = lru_cache(maxsize=65_536)(self._decide)

    def _decide(self, addr: IPAddress) -> str | None:
        if addr in self.local:
            return None
        country = iptocc.country_code(str(addr))
        if country is None:
            return AddressUnknown.code
        return None if country in self.countries else CountryNotAllowed.code

    def check(self, addr: IPAddress | None) -> Forbidden | None:
        """None when admitted, else the refusal."""
        if addr is None:
            return AddressUnknown()
        code = self._verdict(addr)
        return None if code is None else _REFUSALS[code]()


def client_ip(request_or_scope: HTTPConnection | Mapping[str, Any]) -> str:
    """The resolved client address of a request ("" before admission ran)."""
    scope = (
        request_or_scope.scope if isinstance(request_or_scope, HTTPConnection) else request_or_scope
    )
    state = scope.get("state") or {}
    if STATE_KEY in state:
        return str(state[STATE_KEY])
    client = scope.get("client")
    return str(client[0]) if client else ""


class AdmissionMiddleware:
    """Resolve the client address and admit only allowed countries or local networks."""

    def __init__(self, app: ASGIApp, runtime: EdgeHost) -> None:
        self.app = app
        self.runtime = runtime
        s = runtime.settings
        self.trusted = NetworkSet(s.trusted_proxy_networks)
        self.policy = GeoPolicy(s.allowed_countries.split(","), s.local_network_list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        peer = client[0] if client else ""
        forwarded: list[str] = []
        headers = scope["headers"]
        if any(name in _FORWARDING_HEADERS for name, _ in headers):
            forwarded = [v.decode("latin-1") for n, v in headers if n == b"x-forwarded-for"]
            scope["headers"] = [(n, v) for n, v in headers if n not in _FORWARDING_HEADERS]
        addr = resolve(peer, forwarded, self.trusted)
        refusal = self.policy.check(addr)
        address = str(addr) if addr is not None else peer[:45]
        if refusal is not None:
            metrics.GEO_REFUSALS.labels(refusal.code).inc()
            await refuse(self.runtime, refusal, address, scope, receive, send)
            return
        scope["client"] = (address, client[1] if client else 0)
        scope.setdefault("state", {})[STATE_KEY] = address
        token = source_ip_var.set(address)
        try:
            await self.app(scope, receive, send)
        finally:
            source_ip_var.reset(token)


class TenantNetworks:
    """Tenants' own allow-lists (``allowed_cidrs`` in tenant settings), cached briefly.

    A change to a tenant's list applies within ``ttl`` seconds in every process.
    """

    _QUERY = select(Tenant.settings).where(Tenant.id == bindparam("tenant_id"))

    def __init__(self, db: Database, ttl: float = 10.0) -> None:
        self.db = db
        self.ttl = ttl
        self._cache: dict[uuid.UUID, tuple[NetworkSet, float]] = {}
        self._lock = threading.Lock()

    def networks(self, tenant_id: uuid.UUID) -> NetworkSet:
        now = time.monotonic()
        cached = self._cache.get(tenant_id)
        if cached and cached[1] > now:
            return cached[0]
        with self.db.reader(system=True) as conn:
            settings = conn.execute(self._QUERY, {"tenant_id": tenant_id}).scalar_one_or_none()
        cidrs = (settings or {}).get("allowed_cidrs", [])
        nets = NetworkSet(ip_network(c, strict=False) for c in cidrs)
        with self._lock:
            self._cache[tenant_id] = (nets, now + self.ttl)
        return nets

    def check(self, tenant_id: uuid.UUID, address: str) -> None:
        """Raise :class:`NetworkNotAllowed` unless the tenant allows ``address``."""
        nets = self.networks(tenant_id)
        if not nets:
            return
        addr = parse_address(address)
        if addr is None or addr not in nets:
            raise NetworkNotAllowed
