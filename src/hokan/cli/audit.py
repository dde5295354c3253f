"""``hokan audit``: verify the tamper-evident operation log (AUD-2)."""

from __future__ import annotations

import os
import uuid
from datetime import date, timedelta
from pathlib import Path

import typer

from hokan.audit import archive, bundle, checkpoints, findings
from hokan.audit import service as audit
from hokan.audit.daily_rules import RULES
from hokan.cli._common import echo_json, fail, group, operator, runtime, say, writable_file
from hokan.kit.clock import utcnow
from hokan.models import FindingStatus

app = group("Audit trail.")


def _lang() -> str:
    """Japanese unless the locale asks for English (LC_ALL, LC_MESSAGES, LANG)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "en" if value.lower().startswith(("en", "c", "posix")) else "ja"
    return "ja"


def _t(ja: str, en: str) -> str:
    return en if _lang() == "en" else ja


def _report(report: audit.VerifyReport) -> None:
    mb_per_s = report.bytes / 1_048_576 / max(report.seconds, 1e-9)
    rate = f"{report.entries_per_second:,.0f} entries/s, {mb_per_s:.1f} MB/s"
    typer.echo(
        _t(
            f"{report.chains} チェーン、{report.entries} エントリ、署名済みチェックポイント "
            f"{report.checkpoints} 件を {report.seconds:.2f} 秒で検証 ({rate})",
            f"{report.chains} chains, {report.entries} entries, {report.checkpoints} signed "
            f"checkpoints verified in {report.seconds:.2f} s ({rate})",
        )
    )
    lang = _lang()
    for n in report.notes:
        typer.echo(_t(f"注意: チェーン {n.chain}: ", f"note: chain {n.chain}: ") + n.text(lang))
    for p in report.problems:
        typer.echo(
            _t(
                f"BROKEN チェーン {p.chain} のエントリ {p.seq} ({p.entry_id or '-'}): ",
                f"BROKEN chain {p.chain} at entry {p.seq} ({p.entry_id or '-'}): ",
            )
            + p.text(lang)
        )
    if not report.ok:
        raise typer.Exit(1)
    typer.echo(_t("ok: すべてのチェーンは完全です", "ok: every chain is intact"))


@app.command("verify")
def verify(
    tenant: str = typer.Option(None, help="Only this tenant's chain (code or id)"),
    bundle_file: Path = typer.Option(
        None, "--bundle", help="Verify an exported bundle offline (no database needed)"
    ),
    public_key: Path = typer.Option(
        None, help="PEM public key to trust (default: the one inside the bundle)"
    ),
) -> None:
    """Recompute the hash chains, MACs and signed checkpoints; name the first bad entry of
    each broken chain (exit 1)."""
    if bundle_file is not None:
        data = bundle_file.read_bytes()  # a missing file or a directory: one line (HokanGroup)
        pem = public_key.read_text() if public_key else None
        if pem is None:
            typer.echo(
                _t(
                    "注意: バンドル内の公開鍵を信頼しています (--public-key を指定してください)",
                    "note: trusting the public key inside the bundle (pass --public-key)",
                )
            )
        _report(bundle.verify(data, pem))
        return
    with runtime() as rt:
        chain = None
        if tenant:
            with rt.db.session(system=True) as s:
                chain = audit.chain_of(rt.tenants.get(s, tenant).id)
        key = rt.keyring.audit_signing_key().public_key()
        _report(
            audit.verify(
                rt.db,
                chain,
                key,
                rt.settings.resolved_audit_archive_dir,
                mac_key=rt.keyring.audit_mac_key(),
                blobs=rt.blobs,
            )
        )


@app.command("checkpoint")
def checkpoint(
    adopt_unauthenticated: bool = typer.Option(
        False,
        "--adopt-unauthenticated",
        help="Also sign chains whose entries predate entry MACs (ADR 0011); check them first",
    ),
) -> None:
    """Sign the head of every chain that grew since its last checkpoint, after checking
    its new entries; copy the checkpoints to the blob store. `hokan serve` does this every
    HOKAN_AUDIT_CHECKPOINT_SECONDS."""
    with runtime() as rt:
        made = checkpoints.make(rt.db, rt.keyring, rt.blobs, adopt=adopt_unauthenticated)
        refused = [m for m in made if m.refused]
        for m in made:
            if not m.refused:
                typer.echo(
                    _t(
                        f"チェックポイント {m.chain} エントリ {m.seq}",
                        f"checkpoint {m.chain} at entry {m.seq}",
                    )
                )
        signed = len(made) - len(refused)
        typer.echo(
            _t(f"{signed} 件のチェックポイントに署名しました", f"{signed} checkpoints signed")
        )
        for m in refused:
            typer.echo(
                _t(
                    f"error: チェーン {m.chain} に署名しません: {m.refused_ja}",
                    f"error: chain {m.chain} not signed: {m.refused}",
                ),
                err=True,
            )
        if refused:
            raise typer.Exit(1)


@app.command("public-key")
def public_key() -> None:
    """Print the PEM public key that verifies audit checkpoints (give it to auditors)."""
    with runtime() as rt:
        typer.echo(checkpoints.public_key_pem(rt.keyring), nl=False)


@app.command("export")
def export(
    tenant: str = typer.Option(..., help="Tenant code or id"),
    out: Path = typer.Option(..., help="File to write the bundle to"),
) -> None:
    """Write a tenant's verifiable export bundle (its chain, checkpoints, public key)."""
    with runtime() as rt:
        with rt.db.session(system=True) as s:
            tenant_id = rt.tenants.get(s, tenant).id
        archive_dir = rt.settings.resolved_audit_archive_dir
        writable_file(out)  # before the work, not after it
        out.write_bytes(bundle.export(rt.db, rt.keyring, tenant_id, archive_dir))
        with rt.db.session(write=True, system=True) as s:
            audit.record(s, operator(), "audit.export_bundle", "audit_log", "", tenant_id=tenant_id)
        typer.echo(f"wrote {out}")


@app.command("archive")
def archive_cmd(
    older_than_days: int = typer.Option(
        None, min=1, help="Archive entries older than this (default HOKAN_AUDIT_ARCHIVE_AFTER_DAYS)"
    ),
) -> None:
    """Move old entries into compressed, still-verifiable segment files (never deletes history)."""
    with runtime() as rt:
        days = older_than_days or rt.settings.audit_archive_after_days
        if not days:
            fail(
                "indefinite retention (HOKAN_AUDIT_ARCHIVE_AFTER_DAYS=0): pass --older-than-days",
                2,
            )
        # Sign the heads first, so the archived run is covered by a checkpoint.
        checkpoints.make(rt.db, rt.keyring, rt.blobs)
        before = utcnow() - timedelta(days=days)
        done = archive.archive(rt.db, rt.settings.resolved_audit_archive_dir, before)
        for a in done:
            typer.echo(f"archived {a.chain} entries {a.first_seq}-{a.last_seq} to {a.path}")
        typer.echo(f"{len(done)} segments written")


@app.command("daily")
def daily(
    day: str = typer.Option(None, "--date", help="JST day YYYY-MM-DD (default: yesterday)"),
) -> None:
    """Run the daily internal audit (AUD-4) over one day's entries; prints the report."""

    try:
        when = date.fromisoformat(day) if day else findings.yesterday_jst()
    except ValueError:
        fail("--date must be YYYY-MM-DD", 2, ja="--date は YYYY-MM-DD で指定してください")
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        echo_json(findings.run_daily(s, rt.settings, when, operator()).as_json())


_SEVERITY_JA = {"high": "高", "medium": "中", "low": "低"}


@app.command("rules")
def rules(as_json: bool = typer.Option(False, "--json", help="As JSON, in both languages")) -> None:
    """List the daily internal audit's rules: name, severity and what each flags."""
    if as_json:
        echo_json(
            [
                {
                    "name": r.name,
                    "severity": r.severity,
                    "description_ja": r.description_ja,
                    "description_en": r.description_en,
                }
                for r in RULES
            ]
        )
        return
    width = max(len(r.name) for r in RULES)
    for r in RULES:
        severity = say(_SEVERITY_JA[r.severity], r.severity)
        pad = " " * (6 - len(severity) * (1 if severity.isascii() else 2))  # 高 is two columns
        typer.echo(f"{r.name:<{width}}  {severity}{pad}  {say(r.description_ja, r.description_en)}")


@app.command("findings")
def findings_(
    open_only: bool = typer.Option(False, "--open", help="Only findings not yet acknowledged"),
    day: str = typer.Option(None, "--date", help="Only this JST day (YYYY-MM-DD)"),
) -> None:
    """List internal-audit findings."""
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        fail("--date must be YYYY-MM-DD", 2, ja="--date は YYYY-MM-DD で指定してください")
    with runtime() as rt, rt.db.session(system=True) as s:
        status = FindingStatus.open if open_only else None
        echo_json([findings.finding_json(f) for f in findings.list_findings(s, status, when)])


@app.command("ack")
def ack(
    finding_id: str,
    comment: str = typer.Option(..., help="What the auditor found and decided"),
) -> None:
    """Acknowledge a finding with a comment."""

    try:
        ident = uuid.UUID(finding_id)
    except ValueError:
        fail("finding id must be a UUID", 2)
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        findings.acknowledge(s, ident, comment, operator())
        typer.echo("acknowledged")
