"""What every command shares: settings, the runtime, messages, and errors as exit codes.

Every command runs under :class:`HokanGroup` (the root group's class): an ordinary
mistake — a missing file, an unwritable directory, a refused domain operation, a
database or Redis that does not answer — ends as one line ``エラー: …`` / ``error: …``
on stderr and a non-zero exit status, never a traceback. Messages are Japanese
unless the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``) asks for another language,
in which case they are English.
"""

from __future__ import annotations

import errno
import getpass
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from hokan.kit.errors import DependencyUnavailable, HokanError
from hokan.principals.principal import Principal, PrincipalKind
from hokan.runtime import Runtime
from hokan.settings import Settings, SettingsError, load_settings

_DEPENDENCY_HINTS = {
    "redis": "Redis (HOKAN_REDIS_URL) is unreachable / Redis に接続できません",
    "database": "the database is unreachable / データベースに接続できません",
}


def english() -> bool:
    """Whether CLI messages are English: the locale names a language other than Japanese."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return not (value.startswith("ja") or value in ("C", "POSIX") or value[:2] == "C.")
    return False


def say(ja: str, en: str) -> str:
    """The message in the user's language (Japanese first)."""
    return en if english() else ja


class CliProblem(Exception):
    """An ordinary mistake on the command line: shown as one line, exit ``code``."""

    def __init__(self, ja: str, en: str, code: int = 1) -> None:
        super().__init__(en)
        self.ja, self.en, self.code = ja, en, code


def fail(message: str, code: int = 1, *, ja: str | None = None) -> NoReturn:
    """Stop with one line on stderr; ``ja`` is the Japanese text when it differs."""
    raise CliProblem(ja or message, message, code)


_OS_ERRORS_JA = {
    errno.ENOENT: "ファイルまたはディレクトリがありません",
    errno.EISDIR: "ディレクトリです (ファイルを指定してください)",
    errno.ENOTDIR: "ディレクトリではありません",
    errno.EACCES: "権限がありません",
    errno.EPERM: "操作が許可されていません",
    errno.EEXIST: "すでに存在します",
    errno.EROFS: "読み取り専用のファイルシステムです",
    errno.ENOSPC: "ディスクの空きがありません",
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def describe(exc: BaseException) -> tuple[str, str, int] | None:
    """(Japanese, English, exit code) for an error a user can cause; None for a bug."""
    if isinstance(exc, CliProblem):
        return exc.ja, exc.en, exc.code
    if isinstance(exc, HokanError):
        return f"{exc.code}: {exc.message('ja')}", f"{exc.code}: {exc.message('en')}", 1
    if isinstance(exc, SettingsError):
        return f"設定が正しくありません: {exc}", f"invalid settings: {exc}", 2
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        reason_en = exc.strerror or type(exc).__name__
        reason_ja = _OS_ERRORS_JA.get(exc.errno or 0, reason_en)
        return f"{reason_ja}{where}", f"{reason_en.lower()}{where}", 1
    from redis.exceptions import RedisError
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, RedisError):
        reason = _one_line(str(exc))[:200]
        return (
            f"Redis に接続できません (HOKAN_REDIS_URL を確認してください): {reason}",
            f"Redis is unreachable (check HOKAN_REDIS_URL): {reason}",
            1,
        )
    if isinstance(exc, OperationalError):
        # The driver's message (no SQL, no parameters: those may hold data).
        reason = _one_line(str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__)[:200]
        return (
            f"データベースを使えません (HOKAN_DATABASE_URL を確認してください): {reason}",
            f"the database is unusable (check HOKAN_DATABASE_URL): {reason}",
            1,
        )
    return None


class HokanGroup(TyperGroup):
    """The root group: every command's ordinary errors become one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # already the command line's own way out (usage errors, exit codes)
        except Exception as exc:
            known = describe(exc)
            if known is None:
                raise
            ja, en, code = known
            typer.echo(say(f"エラー: {_one_line(ja)}", f"error: {_one_line(en)}"), err=True)
            raise typer.Exit(code) from None


def operator() -> Principal:
    """Whoever runs the CLI on the server, as recorded in audit entries."""
    user = getpass.getuser()
    return Principal(PrincipalKind.operator, f"cli:{user}"[:64], f"{user} (hokan CLI)", None)


def settings_or_exit() -> Settings:
    return load_settings()  # SettingsError: one line, exit 2 (HokanGroup)


def require_data_dir(settings: Settings) -> None:
    """Refuse to invent a data directory: only ``hokan init`` creates one."""
    if settings.data_dir.is_dir():
        return
    where = settings.data_dir.absolute()
    raise CliProblem(
        f"データディレクトリ {where} がありません。'hokan init' で作成するか、"
        "既存のディレクトリを HOKAN_DATA_DIR に設定してください",
        f"no data directory at {where}: run 'hokan init' to create it, "
        "or set HOKAN_DATA_DIR to the existing one",
    )


@contextmanager
def runtime(*, create: bool = False) -> Iterator[Runtime]:
    """A runtime for one command over an existing data directory (``create``: ``hokan init``)."""
    # A dependency that is down is said once, by the error line, not also by a
    # stray warning (without configured logging, Python would print it to stderr).
    logging.getLogger("hokan.dependencies").addHandler(logging.NullHandler())
    settings = settings_or_exit()
    if not create:
        require_data_dir(settings)
    rt = Runtime(settings)
    try:
        yield rt
    except DependencyUnavailable as exc:  # one line naming what is down, not a traceback
        fail(f"{exc.code}: {_DEPENDENCY_HINTS.get(exc.dependency, exc.dependency)}")
    except HokanError as exc:
        fail(f"{exc.code}: {exc.message('en')}", ja=f"{exc.code}: {exc.message('ja')}")
    finally:
        rt.close()


def writable_file(path: Path) -> Path:
    """``path`` if a file can be written there; checked before any work is done."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(parent))
    if not os.access(parent, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(parent))
    return path


def echo_json(data: object) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def group(help: str) -> typer.Typer:
    """A command group as every group is built (plain help: stable, and what README shows)."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)


def role_option(roles: frozenset[Any], default: Any, help: str) -> Any:
    """A repeatable ``--role`` that offers exactly ``roles`` (the ones the command accepts)."""
    names = sorted(str(r) for r in roles)

    def parse(value: str) -> str:
        if value not in names:
            raise typer.BadParameter(
                say(f"{', '.join(names)} のいずれか", f"one of {', '.join(names)}")
            )
        return value

    return typer.Option(
        default, "--role", metavar="ROLE", parser=parse, help=f"{help}: {', '.join(names)}"
    )
