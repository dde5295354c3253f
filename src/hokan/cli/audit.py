"""``hokan audit``: verify the tamper-evident operation log (AUD-2)."""

from __future__ import annotations

import typer

from hokan.audit import checkpoints
from hokan.audit import service as audit
from hokan.cli._common import runtime

app = typer.Typer(help="Audit trail.", no_args_is_help=True)


@app.command("verify")
def verify(tenant: str = typer.Option(None, help="Only this tenant's chain (code or id)")) -> None:
    """Recompute the hash chains; name the first bad entry of each broken chain (exit 1)."""
    with runtime() as rt:
        chain = None
        if tenant:
            with rt.db.session(system=True) as s:
                chain = audit.chain_of(rt.tenants.get(s, tenant).id)
        public_key = rt.keyring.audit_signing_key().public_key()
        report = audit.verify(rt.db, chain, public_key)
        mb_per_s = report.bytes / 1_048_576 / max(report.seconds, 1e-9)
        typer.echo(
            f"{report.chains} chains, {report.entries} entries, {report.checkpoints} signed "
            f"checkpoints verified in {report.seconds:.2f} s "
            f"({report.entries_per_second:,.0f} entries/s, {mb_per_s:.1f} MB/s)"
        )
        for p in report.problems:
            typer.echo(f"BROKEN chain {p.chain} at entry {p.seq} ({p.entry_id or '-'}): {p.reason}")
        if not report.ok:
            raise typer.Exit(1)
        typer.echo("ok: every chain is intact")


@app.command("checkpoint")
def checkpoint() -> None:
    """Sign the head of every chain that grew since its last checkpoint (run at least daily)."""
    with runtime() as rt:
        made = checkpoints.make(rt.db, rt.keyring)
        for m in made:
            typer.echo(f"checkpoint {m.chain} at entry {m.seq}")
        typer.echo(f"{len(made)} checkpoints signed")


@app.command("public-key")
def public_key() -> None:
    """Print the PEM public key that verifies audit checkpoints (give it to auditors)."""
    with runtime() as rt:
        typer.echo(checkpoints.public_key_pem(rt.keyring), nl=False)
