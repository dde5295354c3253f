"""``hokan doctor``: check a running installation against the production checklist."""

from __future__ import annotations

import typer

from hokan.cli._common import echo_json, english, settings_or_exit
from hokan.monitoring import doctor as checklist

_MARK = {"ok": "OK  ", "warn": "WARN", "fail": "FAIL", "skip": "-   "}


def doctor(
    json_out: bool = typer.Option(False, "--json", help="Print the findings as JSON"),
) -> None:
    """Check this installation against docs/operations/production.md (exit 1 on a FAIL).

    TLS to PostgreSQL and Redis, the service role (not superuser, not BYPASSRLS, not the
    owner), a separate keyring, a database and user per vault store, the master key's
    source, backup targets, the last clock check, SMTP, HOKAN_ENV. Changes nothing.
    """
    findings = checklist.run(settings_or_exit())
    if json_out:
        echo_json({"result": checklist.worst(findings), "checks": [f.as_json() for f in findings]})
    else:
        en = english()
        for f in findings:
            typer.echo(f"{_MARK[f.status]}  {f.check:<20} {f.en if en else f.ja}")
    if checklist.worst(findings) == "fail":
        raise typer.Exit(1)
