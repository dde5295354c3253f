"""``hokan whitepaper``: the measurable sections of the security whitepaper (REP-3)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from hokan.cli._common import fail, group, runtime, say
from hokan.kit.clock import utcnow
from hokan.reports import service, whitepaper

app = group("The security whitepaper, regenerated from live settings and records (REP-3).")


class Format(StrEnum):
    md = "md"
    html = "html"
    pdf = "pdf"


@app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="Directory to write whitepaper.FORMAT into"),
    fmt: Format = typer.Option(Format.md, "--format", help="md, html or pdf"),
) -> None:
    """Write §1-2-2, §1-3-1, §1-3-2 (availability and 停止の詳細), §1-4-1, §2 (technical
    measures as configured) and §3-3 (backups as retained) in Japanese. The facts stated
    are kept in DIR/whitepaper-facts.json; the next run lists what changed (変更履歴)."""
    if out.exists() and not out.is_dir():
        fail(f"{out} is not a directory", ja=f"{out} はディレクトリではありません")
    out.mkdir(parents=True, exist_ok=True)
    with runtime() as rt, rt.db.session(system=True) as s:
        doc, kept = whitepaper.build(s, rt.settings, now=utcnow(), out_dir=out)
        data = service.render_one(doc, fmt.value)
    target = out / f"whitepaper.{fmt.value}"
    target.write_bytes(data)
    (out / whitepaper.FACTS_FILE).write_text(
        json.dumps(kept, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    typer.echo(say(f"{target} に書き出しました", f"written to {target}"))
