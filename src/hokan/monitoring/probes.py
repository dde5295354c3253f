"""The probes (MON-1): one function per component, each bounded by a timeout shorter
than the probe interval, all run at once on a small thread pool.

A probe answers ``up``, ``degraded`` or ``down`` with a short, stable reason
(``timeout``, ``http_503``, an exception's class name) — never a message that
could carry a hostname or a secret.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httpx
import redis

from hokan.blobs import BlobStore
from hokan.keyring.service import Keyring
from hokan.kit.jobs import JobHost
from hokan.monitoring import components as c
from hokan.vault.stores import FragmentStores

UP, DEGRADED, DOWN, UNKNOWN = "up", "degraded", "down", "unknown"
_PROBE_KEY = "monitoring/probe"


@dataclass(frozen=True)
class Result:
    component: str
    status: str
    reason: str = ""


@dataclass(frozen=True)
class Probe:
    """A check of one or more components (the vault's stores are judged together)."""

    components: tuple[str, ...]
    run: Callable[[], list[Result]]


# Backup targets register probes here (the backup issue): name -> probe factory.
EXTRA_PROBES: dict[str, Callable[[JobHost], Probe]] = {}


def checked(name: str, check: Callable[[], object]) -> Probe:
    """Up when ``check`` returns; down, with the exception's class, when it raises."""

    def run() -> list[Result]:
        try:
            check()
        except Exception as exc:  # any failure of the dependency is a down probe
            return [Result(name, DOWN, type(exc).__name__[:64])]
        return [Result(name, UP)]

    return Probe((name,), run)


def api_probe(url: str, timeout: float) -> Probe:
    def run() -> list[Result]:
        try:
            answer = httpx.get(f"{url.rstrip('/')}/readyz", timeout=timeout)
        except httpx.HTTPError as exc:
            return [Result(c.API.name, DOWN, type(exc).__name__[:64])]
        if answer.status_code != 200:
            return [Result(c.API.name, DOWN, f"http_{answer.status_code}")]
        return [Result(c.API.name, UP)]

    return Probe((c.API.name,), run)


def smtp_probe(url: str, timeout: float) -> Probe:
    def check() -> None:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        client: smtplib.SMTP
        if parts.scheme == "smtps":
            context = ssl.create_default_context()
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if parts.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            code, _ = client.noop()
            if code != 250:
                raise smtplib.SMTPResponseException(code, b"noop")

    return checked(c.SMTP.name, check)


def stores_probe(stores: FragmentStores) -> Probe:
    names = tuple(c.vault_store(i).name for i in range(1, stores.n + 1))

    def run() -> list[Result]:
        try:
            states = stores.states()
        except Exception as exc:
            return [Result(name, DOWN, type(exc).__name__[:64]) for name in names]
        return [
            Result(name, UP) if state == "ok" else Result(name, DOWN, state[:64])
            for name, state in zip(names, states, strict=True)
        ]

    return Probe(names, run)


def probes_for(host: JobHost) -> list[Probe]:
    """Every probe this installation needs (Redis and SMTP only when configured)."""
    s = host.settings
    timeout = float(s.monitor_timeout_seconds)
    keyring_db = host.resolve(Keyring).db
    blobs: BlobStore = host.resolve(BlobStore)  # type: ignore[type-abstract]
    out = [
        api_probe(s.resolved_monitor_url, timeout),
        checked(c.SYSTEM_DB.name, host.db.ping),
        checked(c.KEYRING_DB.name, keyring_db.ping),
        checked(c.BLOB_STORE.name, lambda: blobs.exists(_PROBE_KEY)),
        stores_probe(host.resolve(FragmentStores)),
    ]
    if s.redis_url:
        out.append(checked(c.REDIS.name, lambda: host.resolve(redis.Redis).ping()))
    if s.smtp_url:
        out.append(smtp_probe(s.smtp_url, timeout))
    out.extend(factory(host) for factory in EXTRA_PROBES.values())
    return out


def run_all(probes: list[Probe], timeout: float) -> list[Result]:
    """Run every probe at once; one that overruns ``timeout`` is down (``timeout``)."""
    results: list[Result] = []
    pool = ThreadPoolExecutor(max_workers=max(1, len(probes)), thread_name_prefix="hokan-probe")
    try:
        futures = [(pool.submit(p.run), p) for p in probes]
        for future, probe in futures:
            try:
                results.extend(future.result(timeout=timeout))
            except FutureTimeout:
                results.extend(Result(name, DOWN, "timeout") for name in probe.components)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


def vault_status(results: list[Result], n: int, k: int) -> Result:
    """The vault as a whole: up with all n stores, degraded (writes refused) with ≥ k, else down."""
    good = sum(1 for r in results if r.component.startswith("vault_store_") and r.status == UP)
    if good >= n:
        return Result(c.VAULT.name, UP)
    if good >= k:
        return Result(c.VAULT.name, DEGRADED, f"stores_{good}_of_{n}")
    return Result(c.VAULT.name, DOWN, f"stores_{good}_of_{n}")
