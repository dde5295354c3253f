"""``hokan tenant onboard|terminate|hold|restore-pending|dispose`` (LIFE-1, LIFE-2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from hokan.cli._common import echo_json, fail, operator, runtime, say, writable_file
from hokan.cli.tenant import app
from hokan.kit.clock import to_jst
from hokan.lifecycle.onboarding import OnboardIn
from hokan.models import Product


@app.command("onboard")
def onboard(
    code: str = typer.Option(..., help="Short unique code: 2-32 of a-z, 0-9 and '-'"),
    name: str = typer.Option(..., help="Company name (会社名)"),
    product: Product = typer.Option(..., help="staff or guard"),
    admin_name: str = typer.Option(..., help="The first tenant admin's name"),
    admin_email: str = typer.Option(..., help="The first tenant admin's e-mail (gets the welcome)"),
    terminal: str | None = typer.Option(None, help="Name of the first terminal to certify"),
    out: Path | None = typer.Option(
        None, help="Where to write the terminal's PKCS#12 (default ./<code>-<terminal>.p12)"
    ),
) -> None:
    """Open a tenant: keys, first admin (password through a one-time link in the welcome
    mail), first terminal certificate (PKCS#12, password shown once). All or nothing."""
    bundle_path = None
    if terminal:
        bundle_path = writable_file(out or Path(f"{code}-{terminal}.p12".replace("/", "_")))
    try:
        data = OnboardIn(code, name, product, admin_name, admin_email, terminal)
    except ValidationError as exc:  # pragma: no cover - dataclass, checked by the service
        fail(f"invalid_tenant: {exc.error_count()} errors", 2)
    with runtime() as rt:
        done = rt.lifecycle.onboard(data, operator())
        typer.echo(
            say(
                f"テナント {done.code} を開設しました (管理者シリアル {done.admin_serial})。"
                "初回パスワード設定のリンクを管理者にメールしました",
                f"onboarded tenant {done.code} (admin serial {done.admin_serial}); the "
                "password setup link was mailed to the admin",
            )
        )
        if done.pkcs12 is not None and bundle_path is not None:
            bundle_path.write_bytes(done.pkcs12)
            bundle_path.chmod(0o600)
            typer.echo(
                say(
                    f"端末証明書 {done.terminal_serial} を {bundle_path} に書き出しました。"
                    "パスワード (一度だけ表示します):",
                    f"terminal certificate {done.terminal_serial} written to {bundle_path}; "
                    "its password (shown once):",
                ),
                err=True,
            )
            typer.echo(done.pkcs12_password)


@app.command("terminate")
def terminate(tenant: str = typer.Argument(..., help="Tenant code or id")) -> None:
    """End the contract: a grace period (HOKAN_TENANT_GRACE_DAYS) starts, during which
    the tenant can only export its data; then its data is disposed of."""
    with runtime() as rt:
        t = rt.lifecycle.terminate(tenant, operator())
        until = f"{to_jst(t.dispose_after):%Y-%m-%d %H:%M}" if t.dispose_after else "-"
        typer.echo(
            say(
                f"テナント {t.code} を契約終了にしました。{until} (日本時間) 以降に消去できます",
                f"tenant {t.code} is terminated; disposal possible from {until} JST",
            )
        )


@app.command("hold")
def hold(
    tenant: str = typer.Argument(..., help="Tenant code or id"),
    reason: str | None = typer.Option(None, help="Why the data must be kept (legal hold)"),
    release: bool = typer.Option(False, "--release", help="Release the hold"),
) -> None:
    """Place or release a legal hold: a held tenant's data is never disposed of."""
    if not release and not reason:
        fail("--reason or --release is required", 2, ja="--reason か --release を指定してください")
    with runtime() as rt:
        t = rt.lifecycle.hold(tenant, None if release else reason, operator(), kind="legal_hold")
        typer.echo(
            say(
                f"テナント {t.code}: 訴訟ホールド {'解除' if release else '設定'}",
                f"tenant {t.code}: legal hold {'released' if release else 'placed'}",
            )
        )


@app.command("restore-pending")
def restore_pending(
    tenant: str = typer.Argument(..., help="Tenant code or id"),
    request: str | None = typer.Option(None, help="The pending restore request (ticket)"),
    clear: bool = typer.Option(False, "--clear", help="The restore is done or withdrawn"),
) -> None:
    """Mark or clear a pending restore for the tenant: disposal waits for it."""
    if not clear and not request:
        fail("--request or --clear is required", 2, ja="--request か --clear を指定してください")
    with runtime() as rt:
        t = rt.lifecycle.hold(
            tenant, None if clear else request, operator(), kind="restore_pending"
        )
        typer.echo(
            say(
                f"テナント {t.code}: 復元依頼 {'解除' if clear else '登録'}",
                f"tenant {t.code}: pending restore {'cleared' if clear else 'recorded'}",
            )
        )


@app.command("dispose")
def dispose(
    tenant: str = typer.Argument(..., help="Tenant code or id"),
    confirm: str = typer.Option(..., help="The tenant code again, to confirm"),
    as_json: bool = typer.Option(False, "--json", help="The full report as JSON"),
) -> None:
    """Dispose of a terminated tenant's data after its grace period — records, revisions,
    attachments, vault, users, terminals, keys (also in every keyring backup) — and verify."""
    with runtime() as rt:
        out = rt.lifecycle.dispose(
            tenant, operator(), confirm=confirm, step=lambda name: typer.echo(f"… {name}", err=True)
        )
        if as_json:
            echo_json(out)
            return
        typer.echo(
            say(
                f"テナント {out['tenant']} のデータを消去し、検証しました "
                f"(証明書番号 {out['certificate_number']})",
                f"tenant {out['tenant']} disposed of and verified "
                f"(certificate {out['certificate_number']})",
            )
        )


@app.command("export")
def export(
    tenant: str = typer.Argument(..., help="Tenant code or id"),
    out: Path = typer.Option(..., help="Folder to write the export folder into"),
    as_json: bool = typer.Option(False, "--json", help="The manifest as JSON"),
) -> None:
    """Export a tenant's data (JSON Lines of records and revisions, attachments with
    SHA-256s, the offline-verifiable audit bundle, users and terminals without secrets)
    into a new folder under --out, written aside and renamed when complete."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with (
        runtime() as rt,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description} {task.completed}"),
            console=Console(stderr=True),
            transient=True,
        ) as bar,
    ):
        tasks: dict[str, Any] = {}

        def tick(what: str, n: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=None)
            bar.advance(tasks[what], n)

        manifest = rt.lifecycle.export(tenant, out, operator(), progress=tick)
    if as_json:
        echo_json(manifest)
        return
    counts = manifest["counts"]
    typer.echo(
        say(
            f"{manifest['path']} に書き出しました (レコード {counts['records']}、履歴 "
            f"{counts['revisions']}、添付 {counts['attachments']})",
            f"exported to {manifest['path']} ({counts['records']} records, "
            f"{counts['revisions']} revisions, {counts['attachments']} attachments)",
        )
    )
