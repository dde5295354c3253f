"""Ask NTP servers for the time (SNTP, RFC 4330) with ``ntplib``.

One query per server; every outcome is an :class:`Answer`, never an exception:
a server that does not answer, cannot be resolved or reached, or answers without a
usable time (kiss-o'-death, unsynchronised, not echoing our request) is an answer
with ``answered`` false and a short ``error`` word, so the check records it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import ntplib

VERSION = 4
MODE_SERVER = 4
LEAP_ALARM = 3  # the server's own clock is not synchronised
STRATUM_MAX = 15  # 16 means unsynchronised; 0 a kiss-o'-death packet
ECHO_SLACK = 0.001  # the echoed timestamp loses precision on the wire
NTP_EPOCH_OFFSET = ntplib.NTP.NTP_DELTA  # 1900-01-01 to 1970-01-01 in seconds

Server = tuple[str, int]


def label(server: Server) -> str:
    """``host:port`` (``[v6]:port``) as shown in records, audit entries and mails."""
    host, port = server
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class Answer:
    server: str  # host:port
    answered: bool
    offset: float | None = None  # the server's time minus ours (seconds)
    delay: float | None = None  # the round trip (seconds)
    stratum: int | None = None
    error: str | None = None  # timeout, dns, network, unsynchronised, bogus


def _judge(server: str, stats: Any, sent_after: float, sent_before: float) -> Answer:
    echoed = stats.orig_timestamp - NTP_EPOCH_OFFSET
    if stats.mode != MODE_SERVER or not (
        sent_after - ECHO_SLACK <= echoed <= sent_before + ECHO_SLACK
    ):
        # Not an answer to our request (a stray or forged packet): not a time to trust.
        return Answer(server, False, error="bogus")
    stratum = int(stats.stratum)
    if stratum == 0 or stratum > STRATUM_MAX or stats.leap == LEAP_ALARM:
        return Answer(server, False, stratum=stratum, error="unsynchronised")
    return Answer(server, True, float(stats.offset), float(stats.delay), stratum)


def query(server: Server, *, timeout: float) -> Answer:
    """One server's answer (or why there is none)."""
    name = label(server)
    host, port = server
    client = ntplib.NTPClient()
    started = time.time()
    try:
        stats = client.request(host, version=VERSION, port=port, timeout=timeout)
    except ntplib.NTPException:
        return Answer(name, False, error="timeout")
    except socket.gaierror:
        return Answer(name, False, error="dns")
    except TimeoutError:
        return Answer(name, False, error="timeout")
    except OSError:
        return Answer(name, False, error="network")
    return _judge(name, stats, started, time.time())


def query_all(
    servers: Sequence[Server],
    *,
    timeout: float,
    ask: Callable[..., Answer] = query,
) -> list[Answer]:
    """Every server's answer, asked at once, in the configured order."""
    if not servers:
        return []
    with ThreadPoolExecutor(max_workers=min(len(servers), 8)) as pool:
        return list(pool.map(lambda s: ask(s, timeout=timeout), servers))
