"""``hokan waf check``: the server's rules on one value, from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hokan.cli import app


def test_check_reports_rules_and_exit_status() -> None:
    runner = CliRunner()
    blocked = runner.invoke(app, ["waf", "check", "' OR '1'='1' --", "--field", "json.note"])
    assert blocked.exit_code == 1
    report = json.loads(blocked.output)
    assert report["blocked"] and report["score"] >= 5
    assert {h["field"] for h in report["hits"]} == {"json.note"}
    assert any(h["rule"].startswith("sqli-") for h in report["hits"])
    ok = runner.invoke(app, ["waf", "check", "オライリー（O'Reilly）様"])
    assert ok.exit_code == 0 and json.loads(ok.output)["hits"] == []
    strict = runner.invoke(app, ["waf", "check", "<b>太字</b>", "--paranoia", "4"])
    assert strict.exit_code == 1
