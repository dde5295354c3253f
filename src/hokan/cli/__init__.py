"""The ``hokan`` command line: one module per command group."""

from __future__ import annotations

import typer

from hokan.cli import (
    accounts,
    audit,
    availability,
    backup,
    cert,
    clock,
    db,
    doctor,
    incident,
    init,
    ips,
    keys,
    mail,
    maintenance,
    monitoring,
    operator,
    report,
    restore,
    serve,
    tenant,
    tenant_lifecycle,
    user,
    vault,
    waf,
    whitepaper,
    worker,
)
from hokan.cli._common import HokanGroup

_ = tenant_lifecycle  # registers its commands on the tenant group

app = typer.Typer(
    name="hokan",
    help="Hokan (保管): secure data storage for Japanese business software.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=HokanGroup,  # every command's ordinary errors: one line, non-zero exit
)
app.command("init")(init.init)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("doctor")(doctor.doctor)
app.add_typer(worker.app, name="jobs")
app.add_typer(incident.app, name="incident")
app.add_typer(db.app, name="db")
app.add_typer(tenant.app, name="tenant")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(user.app, name="user")
app.add_typer(mail.app, name="mail")
app.add_typer(accounts.app, name="accounts")
app.add_typer(operator.app, name="operator")
app.add_typer(vault.app, name="vault")
app.add_typer(cert.app, name="cert")
app.add_typer(clock.app, name="clock")
app.add_typer(ips.app, name="ips")
app.add_typer(waf.app, name="waf")
app.add_typer(maintenance.app, name="maintenance")
app.add_typer(availability.app, name="availability")
app.add_typer(monitoring.app, name="monitoring")
app.add_typer(backup.app, name="backup")
app.add_typer(report.app, name="report")
app.add_typer(whitepaper.app, name="whitepaper")
app.command("restore")(restore.restore)
app.add_typer(restore.dr_app, name="dr")


def main() -> None:
    app()
