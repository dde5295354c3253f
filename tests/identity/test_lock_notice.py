"""The tenant is told of a lockout by mail, through the outbox and a real SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlalchemy import select

from hokan import mail
from hokan.identity import sessions, users
from hokan.identity.errors import InvalidCredentials
from hokan.models import MailMessage, Tenant
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.conftest import TenantHandle


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[bytes] = []

    def handle_message(self, message: object) -> None:
        self.messages.append(bytes(message))  # type: ignore[call-overload]

    def prepare_message(self, session: object, envelope: object) -> bytes:  # type: ignore[override]
        return envelope.original_content  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", inbox
    controller.stop()


def test_lockout_mail_reaches_the_admins(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], smtp_server: tuple[str, Inbox]
) -> None:
    url, inbox = smtp_server
    t = make_tenant()
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        tenant.contacts = [
            {"name": "総務", "email": "soumu@acme.example.jp", "roles": ["security"]}
        ]
        _admin, _ = users.create(
            s,
            runtime.passwords,
            tenant,
            name="管理 花子",
            email="kanri@acme.example.jp",
            roles=["tenant_admin"],
            password="春の小川はさらさら行くよ",
            actor=SYSTEM,
        )
        victim, _ = users.create(
            s,
            runtime.passwords,
            tenant,
            name="山田 太郎",
            email="yamada@acme.example.jp",
            roles=["staff_user"],
            password="春の小川はさらさら行くよ",
            actor=SYSTEM,
        )
        serial = victim.serial
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            sessions.login(runtime.db, runtime.passwords, serial, password="wrong password!!")
    with runtime.db.session(system=True) as s:
        queued = list(s.scalars(select(MailMessage)))
    assert [(m.kind, m.recipients) for m in queued] == [
        ("auth.lock", ["kanri@acme.example.jp", "soumu@acme.example.jp"])
    ]
    settings = runtime.settings.model_copy(update={"smtp_url": url})
    assert mail.deliver(runtime.db, settings) == 1
    assert mail.deliver(runtime.db, settings) == 0  # delivered once
    [raw] = inbox.messages
    msg = message_from_bytes(raw)
    assert "アカウントがロックされました" in str(make_header(decode_header(msg["Subject"])))
    body = msg.get_payload(decode=True).decode("utf-8")
    assert serial in body and "山田 太郎" in body
    assert "wrong password!!" not in body  # the attempted password never appears


def test_undeliverable_mail_is_kept_for_retry(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    make_tenant()
    with runtime.db.session(write=True, system=True) as s:
        mail.enqueue(s, ["a@example.jp"], "件名", "本文", "test")
    dead = runtime.settings.model_copy(update={"smtp_url": "smtp://127.0.0.1:9"})
    assert mail.deliver(runtime.db, dead) == 0
    with runtime.db.session(system=True) as s:
        [row] = list(s.scalars(select(MailMessage)))
        assert (row.sent_at, row.attempts, row.last_error) == (None, 1, "ConnectionRefusedError")
    # The embedded default: written to the outbox folder instead.
    local = runtime.settings.model_copy(update={"smtp_url": ""})
    assert mail.deliver(runtime.db, local) == 1
    assert len(list((runtime.settings.data_dir / "outbox").glob("*.eml"))) == 1
