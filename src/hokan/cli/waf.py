"""``hokan waf``: try the WAF's rules on a value (to understand a block, or write an exclusion)."""

from __future__ import annotations

import json

import typer

from hokan.cli._common import group
from hokan.edge.waf.engine import Inspector, verdict
from hokan.settings import load_settings

app = group("Web application firewall.")


@app.command("check")
def check(
    value: str = typer.Argument(..., help="The value as a client would send it"),
    field: str = typer.Option("query.q", help="Field name to report (as exclusions name it)"),
    paranoia: int = typer.Option(0, min=0, max=4, help="1-4; 0 uses HOKAN_WAF_PARANOIA"),
    url_encoded: bool = typer.Option(False, help="The value is %-encoded (query, path, form)"),
) -> None:
    """Print the rules that match VALUE, its anomaly score and whether it would be blocked.

    Reads no database and sends nothing: the same rules the server runs, on one value.
    Exit status 1 when the value would be blocked.
    """
    settings = load_settings()
    inspector = Inspector(paranoia or settings.waf_paranoia)
    result = verdict(
        inspector.inspect(field, value, url_encoded=url_encoded), settings.waf_threshold
    )
    typer.echo(
        json.dumps(
            {
                "blocked": result.blocked,
                "score": result.score,
                "threshold": result.threshold,
                "paranoia": inspector.paranoia,
                "hits": [{"rule": h.rule, "score": h.score, "field": h.field} for h in result.hits],
            },
            ensure_ascii=False,
        )
    )
    raise typer.Exit(1 if result.blocked else 0)
