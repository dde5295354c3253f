"""Asking NTP servers for the time: a local SNTP server on loopback, never the internet."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from hokan.clock import ntp
from hokan.settings import SettingsError, load_settings
from tests.clock.conftest import Responder


def _server(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def test_an_answer_carries_offset_delay_and_stratum(
    ntp_server: Callable[..., Responder],
) -> None:
    on_time, ahead = ntp_server(0.0), ntp_server(5.0)
    [a, b] = ntp.query_all([_server(on_time.address), _server(ahead.address)], timeout=2)
    assert (a.server, a.answered, a.stratum, a.error) == (on_time.address, True, 2, None)
    assert a.offset is not None and abs(a.offset) < 0.05
    assert a.delay is not None and 0 <= a.delay < 0.5
    assert b.offset is not None and abs(b.offset - 5.0) < 0.05


def test_a_silent_server_is_a_timeout_not_an_exception(
    ntp_server: Callable[..., Responder], closed_port: str
) -> None:
    silent = ntp_server(silent=True)
    started = time.monotonic()
    answers = ntp.query_all([_server(silent.address), _server(closed_port)], timeout=0.3)
    assert [(a.answered, a.error, a.offset) for a in answers] == [(False, "timeout", None)] * 2
    assert silent.requests == 1
    assert time.monotonic() - started < 2  # asked at once, each bounded by the timeout


def test_a_name_that_does_not_resolve() -> None:
    [answer] = ntp.query_all([("ntp.hokan.invalid", 123)], timeout=0.5)
    assert (answer.answered, answer.error) == (False, "dns")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"stratum": 0}, "unsynchronised"),  # a kiss-o'-death packet
        ({"stratum": 16}, "unsynchronised"),
        ({"leap": 3}, "unsynchronised"),  # the server's own clock is not synchronised
        ({"echo": False}, "bogus"),  # not an answer to our request
    ],
)
def test_an_answer_without_a_usable_time_is_not_trusted(
    ntp_server: Callable[..., Responder], kwargs: dict[str, int], error: str
) -> None:
    bad = ntp_server(0.0, **kwargs)
    [answer] = ntp.query_all([_server(bad.address)], timeout=2)
    assert (answer.answered, answer.error, answer.offset) == (False, error, None)


def test_servers_are_configured_as_host_and_port() -> None:
    settings = load_settings(ntp_servers="ntp.nict.jp, 10.0.0.5:1123,[2001:db8::1]:123")
    assert settings.ntp_server_list == [
        ("ntp.nict.jp", 123),
        ("10.0.0.5", 1123),
        ("2001:db8::1", 123),
    ]
    assert load_settings().ntp_server_list == [("ntp.nict.jp", 123)]  # NICT by default
    assert ntp.label(("2001:db8::1", 123)) == "[2001:db8::1]:123"


@pytest.mark.parametrize(
    "value", ["ntp.nict.jp:0", "ntp.nict.jp:65536", "ntp.nict.jp:ntp", "a b", "", "x:1:2"]
)
def test_a_bad_server_stops_start_up_naming_the_setting(value: str) -> None:
    with pytest.raises(SettingsError, match="HOKAN_NTP_SERVERS"):
        load_settings(ntp_servers=value)


@pytest.mark.parametrize(
    ("name", "value"), [("clock_max_offset_ms", 0), ("ntp_timeout_seconds", 0)]
)
def test_thresholds_are_validated(name: str, value: int) -> None:
    with pytest.raises(SettingsError, match=f"HOKAN_{name.upper()}"):
        load_settings(**{name: value})
