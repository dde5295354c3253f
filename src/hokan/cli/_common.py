"""What every command shares: settings, the runtime, and turning errors into exit codes."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from hokan.kit.errors import HokanError
from hokan.principals.principal import Principal, PrincipalKind
from hokan.runtime import Runtime
from hokan.settings import Settings, SettingsError, load_settings


def operator() -> Principal:
    """Whoever runs the CLI on the server, as recorded in audit entries."""
    user = getpass.getuser()
    return Principal(PrincipalKind.operator, f"cli:{user}"[:64], f"{user} (hokan CLI)", None)


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(f"invalid settings: {exc}", 2)


@contextmanager
def runtime() -> Iterator[Runtime]:
    """A runtime for one command; domain errors become ``error: code: message``, exit 1."""
    rt = Runtime(settings_or_exit())
    try:
        yield rt
    except HokanError as exc:
        fail(f"{exc.code}: {exc.message()}")
    finally:
        rt.close()


def echo_json(data: object) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")
