# ruff: noqa: F811  (pytest injects the imported `cli` fixture by parameter name)
"""Operators handle incidents by API and CLI: open, update, acknowledge, resolve and
document; every call is audited under its action; notices go out right away."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.models import MailMessage, NotificationDelivery
from hokan.runtime import Runtime
from tests.cli.test_cli import cli  # noqa: F401  (the fixture)
from tests.conftest import OperatorHandle
from tests.identity.test_operators import op_login
from tests.route_audit import only, refused, trail

URL = "/api/v1/operator/incidents"
Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_an_operator_runs_an_incident_from_open_to_documented(
    runtime: Runtime, ops_client: TestClient, make_operator: Callable[..., OperatorHandle]
) -> None:
    responder = op_login(ops_client, make_operator(("incident_response",)))
    auditor = op_login(ops_client, make_operator(("auditor",)))

    with trail(runtime) as found:
        opened = ops_client.post(
            URL,
            headers=responder,
            json={
                "outage": "partial",
                "title_ja": "添付ファイルが保存できない",
                "title_en": "Attachments cannot be stored",
                "functions": ["attachments"],
            },
        )
    assert opened.status_code == 201, opened.text
    only(found, "incident.open", "success")
    incident = opened.json()
    number = incident["number"]
    assert incident["status"] == "open" and incident["timeline"][0]["kind"] == "detected"
    with runtime.db.session(system=True) as s:
        mails = s.scalars(
            select(MailMessage).where(MailMessage.kind.in_(("ops.incident", "service.incident")))
        ).all()
        sent = s.scalars(select(NotificationDelivery)).all()
    assert mails and all(m.sent_at is not None for m in mails)  # dispatched at once
    assert {d.status for d in sent} == {"delivered"}

    with trail(runtime) as found:
        ack = ops_client.post(
            f"{URL}/{number}/updates",
            headers=responder,
            json={"message_ja": "調査中です。", "acknowledge": True},
        )
    only(found, "incident.update", "success")
    assert ack.json()["status"] == "acknowledged"

    with trail(runtime) as found:
        assert (
            ops_client.post(
                f"{URL}/{number}/updates", headers=auditor, json={"message_ja": "x"}
            ).status_code
            == 403
        )
    refused(found, "operator.role_denied", "incident.update")

    with trail(runtime) as found:
        done = ops_client.post(f"{URL}/{number}/resolve", headers=responder, json={})
    only(found, "incident.resolve", "success")
    assert done.json()["status"] == "resolved"

    with trail(runtime) as found:
        again = ops_client.post(f"{URL}/{number}/resolve", headers=responder, json={})
    assert again.status_code == 409 and again.json()["error"] == "incident_resolved"
    only(found, "incident.resolve", "error")

    with trail(runtime) as found:
        edited = ops_client.patch(
            f"{URL}/{number}",
            headers=responder,
            json={
                "cause": "ストレージの容量不足",
                "response": "容量を増設",
                "prevention": "容量監視の追加",
            },
        )
    only(found, "incident.edit", "success")
    assert edited.json()["cause"] == "ストレージの容量不足"

    with trail(runtime) as found:
        shown = ops_client.get(f"{URL}/{number}", headers=auditor)
    only(found, "incident.read", "success")
    assert [u["kind"] for u in shown.json()["timeline"]][-1] == "resolved"
    with trail(runtime) as found:
        assert ops_client.get(URL, headers=auditor).json()[0]["number"] == number
    only(found, "incident.list", "success")

    with trail(runtime) as found:
        missing = ops_client.get(f"{URL}/INC-1999-0001", headers=auditor)
    assert missing.status_code == 404 and missing.json()["error"] == "incident_not_found"
    only(found, "incident.read", "error")
    with trail(runtime) as found:
        bad = ops_client.post(
            URL, headers=responder, json={"outage": "full", "title_ja": "x", "functions": ["nope"]}
        )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_incident"
    only(found, "incident.open", "error")


def test_the_cli_opens_and_resolves_an_incident(cli: Cli) -> None:
    cli("init")
    opened = json.loads(
        cli(
            "incident",
            "open",
            "--title",
            "API が応答しない",
            "--outage",
            "full",
            "--function",
            "api",
        ).stdout
    )
    number = opened["number"]
    assert opened["outage"] == "full"
    cli("incident", "update", number, "--message", "再起動しています", "--acknowledge")
    cli(
        "incident",
        "edit",
        number,
        "--cause",
        "メモリ不足",
        "--response",
        "再起動",
        "--prevention",
        "監視強化",
    )
    resolved = json.loads(cli("incident", "resolve", number).stdout)
    assert resolved["status"] == "resolved"
    listed = json.loads(cli("incident", "list").stdout)
    assert listed[0]["cause"] == "メモリ不足"
    wrong = cli("incident", "open", "--title", "x", "--outage", "total", check=False)
    assert wrong.returncode == 1 and "invalid_incident" in wrong.stderr
