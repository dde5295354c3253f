"""README sections generated from the code, so they cannot drift: ``make docs``.

``python -m hokan.cli.docs [README.md]`` rewrites the text between
``<!-- BEGIN GENERATED: NAME -->`` and ``<!-- END GENERATED: NAME -->`` for each
section below: the command reference (from the ``hokan`` command tree and its
help texts), the settings reference (from :class:`hokan.settings.Settings`
and its field descriptions) and who is notified of what (from
:data:`hokan.tenants.notices.NOTICE_ROUTES`). ``--check`` exits 1 when the file is stale, and
``tests/cli/test_docs.py`` fails then: add a command or a setting, rerun
``make docs``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from hokan.settings import ENV_PREFIX, Settings


def _leaves(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield path, command
        return
    for name in sorted(subcommands):
        yield from _leaves(subcommands[name], [*path, name])


def _usage(path: list[str], command: Any) -> str:
    parts = ["hokan", *path]
    for param in command.params:
        if param.param_type_name == "argument":
            parts.append(param.name.upper() + ("..." if param.nargs != 1 else ""))
            continue
        if param.hidden or param.name == "help":
            continue
        flag = param.opts[0]
        if not getattr(param, "is_flag", False):
            flag += f" {param.metavar or param.name.upper()}"
        if getattr(param, "multiple", False):
            flag += "..."
        parts.append(flag if param.required else f"[{flag}]")
    return " ".join(parts)


def commands() -> str:
    """Every ``hokan`` command: its usage line and the first line of its help."""
    from hokan.cli import app

    root = typer.main.get_command(app)
    lines = ["```"]
    for path, command in _leaves(root, []):
        lines.append(_usage(path, command))
        summary = (command.help or "").strip().split("\n\n")[0]
        lines.append("    " + " ".join(summary.split()))
    lines.append("```")
    return "\n".join(lines)


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined or field.default is None:
        return "—"
    else:
        value = field.default
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    text = str(getattr(value, "value", value))
    return f"`{text}`" if text else "—"


def settings() -> str:
    """Every ``HOKAN_*`` variable with its default and description."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{ENV_PREFIX}{name.upper()}` | {_default(field)} | {meaning} |")
    return "\n".join(lines)


def notices() -> str:
    """Every notice kind and its audience, from the one routing table."""
    from hokan.tenants.notices import NOTICE_ROUTES

    lines = [
        "| notice (`kind`) | about | contacts with role | tenant admins | Hokan operators |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, route in NOTICE_ROUTES.items():
        roles = ", ".join(f"`{r.value}`" for r in sorted(route.roles)) or "—"
        admins = "yes" if route.tenant_admins else ("if no such contact" if route.roles else "—")
        operators = "yes" if route.operators else "—"
        lines.append(f"| `{kind}` | {route.what} | {roles} | {admins} | {operators} |")
    return "\n".join(lines)


SECTIONS: dict[str, Callable[[], str]] = {
    "commands": commands,
    "settings": settings,
    "notices": notices,
}


def render(text: str) -> str:
    """``text`` with every generated section brought up to date."""
    for name, make in SECTIONS.items():
        begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"README lacks the markers {begin} … {end}")
        replacement = f"{begin}\n{make()}\n{end}"
        text = pattern.sub(lambda _, r=replacement: r, text)  # type: ignore[misc]
    return text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    path = Path(next((a for a in argv if not a.startswith("--")), "README.md"))
    current = path.read_text(encoding="utf-8")
    fresh = render(current)
    if check:
        if fresh != current:
            print(f"{path} is stale: run 'make docs'", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        path.write_text(fresh, encoding="utf-8")
        print(f"rewrote the generated sections of {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
