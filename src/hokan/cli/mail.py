"""``hokan mail``: deliver the outbox (the scheduler will run this every minute)."""

from __future__ import annotations

import typer

from hokan import mail
from hokan.cli._common import group, runtime

app = group("Outgoing mail.")


@app.command("deliver")
def deliver() -> None:
    """Send pending notices by SMTP (HOKAN_SMTP_URL) or write them to DATA_DIR/outbox."""
    with runtime() as rt:
        typer.echo(f"{mail.deliver(rt.db, rt.settings)} messages delivered")
