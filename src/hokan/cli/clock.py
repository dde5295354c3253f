"""``hokan clock``: the clock check against the NTP servers (MON-8), now and as history."""

from __future__ import annotations

from typing import Any

import typer

from hokan.cli._common import echo_json, group, runtime, say
from hokan.clock import service
from hokan.clock.tasks import CHECK
from hokan.jobs import runner, runs
from hokan.jobs.registry import Registry
from hokan.jobs.worker import WorkerHost
from hokan.kit.clock import utcnow

app = group("Clock check: this server's time against the NTP servers (HOKAN_NTP_SERVERS).")


@app.command("check")
def check() -> None:
    """Check the clock now and print each server's answer (exit 1 on an alert).

    Runs the job clock.check through the job runner: recorded in the job history,
    audited, and an alert mailed to the on-call and security-notice operators.
    """
    with runtime() as rt:
        scheduled = Registry(rt.settings).get(CHECK.name)
        started = utcnow()
        host = WorkerHost(rt.settings, rt.db, rt.resolve)
        outcome = runner.execute(host, scheduled, trigger="manual")
        with rt.db.session(system=True) as s:
            done = service.history(s, limit=1, since=started)
        out: dict[str, Any] = done[0].as_json() if done else {"result": None}
        if outcome.error is not None:
            out["error"] = outcome.error.code
        echo_json(out)
        if outcome.status == runs.FAILED:
            if outcome.error is not None:
                typer.echo(
                    say(
                        f"警告: {outcome.error.code}: {outcome.error.message('ja')}",
                        f"alert: {outcome.error.code}: {outcome.error.message('en')}",
                    ),
                    err=True,
                )
            raise typer.Exit(1)


@app.command("history")
def history(
    alerts: bool = typer.Option(False, "--alerts", help="Only checks that alerted"),
    limit: int = typer.Option(20, min=1, max=10_000),
) -> None:
    """Recorded clock checks, newest first, with each server's answer."""
    with runtime() as rt, rt.db.session(system=True) as s:
        echo_json([c.as_json() for c in service.history(s, limit=limit, alerts_only=alerts)])
