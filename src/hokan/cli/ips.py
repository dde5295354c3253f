"""``hokan ips``: the IPS's ban list (EDGE-4) — read it and lift a ban (audited)."""

from __future__ import annotations

import typer

from hokan.cli._common import echo_json, fail, group, operator, runtime
from hokan.edge.ips.service import ban_json

app = group("Intrusion prevention: bans.")


def _shared(settings_redis_url: str) -> None:
    if not settings_redis_url:
        fail(
            "bans live in each 'hokan serve' process's memory on the embedded default; "
            "set HOKAN_REDIS_URL to share them and manage them from here"
        )


@app.command("bans")
def bans() -> None:
    """List the addresses banned now, with reason, offence count and end (JSON)."""
    with runtime() as rt:
        _shared(rt.settings.redis_url)
        echo_json([ban_json(b) for b in rt.ips.bans()])


@app.command("lift")
def lift(ip: str = typer.Argument(..., help="The banned address")) -> None:
    """Lift a ban before it runs out (audited as ips.ban_lifted)."""
    with runtime() as rt:
        _shared(rt.settings.redis_url)
        if not rt.ips.lift(ip, operator()):
            fail(f"{ip} is not banned")
        typer.echo(f"ban on {ip} lifted")
