"""Onboarding (LIFE-1): a tenant, its keys, its first admin, its first terminal, a welcome.

All or nothing: the system rows are one transaction; the keys live in the keyring
database, so a failure after they were made removes them again. The admin's
password is chosen by the admin through a one-time link in the welcome mail; the
terminal's PKCS#12 password is returned once to the operator, never stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.certificates import service as certificates
from hokan.certificates.ca import CertificateAuthority
from hokan.identity import users
from hokan.identity.passwords import Passwords
from hokan.keyring.service import Keyring
from hokan.kit.db import Database
from hokan.lifecycle import repository, setup
from hokan.models import Product, Tenant
from hokan.principals.principal import Principal
from hokan.settings import Settings
from hokan.tenants.contacts import ContactIn, ContactRole
from hokan.tenants.notices import notify
from hokan.tenants.schemas import TenantCreate
from hokan.tenants.service import TenantService

TERMINAL_DAYS = 365  # as `hokan cert issue` by default


@dataclass(frozen=True)
class OnboardIn:
    code: str
    name: str
    product: Product
    admin_name: str
    admin_email: str
    terminal: str | None = None


@dataclass(frozen=True)
class Onboarded:
    tenant_id: uuid.UUID
    code: str
    admin_serial: str
    terminal_serial: str | None
    pkcs12: bytes | None
    pkcs12_password: str | None  # shown once to the operator; never stored or logged

    def __repr__(self) -> str:
        return f"Onboarded(code={self.code!r}, admin_serial={self.admin_serial!r})"


def _welcome(
    settings: Settings, tenant: Tenant, serial: str, token: str, terminal: str | None
) -> str:
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    link = f"{base}/password-setup#{token}"
    hours = settings.password_setup_hours
    step_terminal = (
        f"  2. 端末「{terminal}」の証明書 (PKCS#12) とパスワードを、運用担当から別の経路で"
        "受け取り、端末にインストールしてください。\n"
        if terminal
        else "  2. 端末証明書の発行を運用担当に依頼してください。\n"
    )
    return (
        f"{tenant.name} ご担当者様\n\n"
        "Hokan のご利用を開始しました。次の手順で設定を進めてください。\n\n"
        f"  テナントコード: {tenant.code}\n  ログイン用シリアル番号: {serial}\n\n"
        f"  1. 次のリンクから {hours} 時間以内に初回パスワードを設定してください "
        "(1回のみ有効):\n"
        f"     {link}\n"
        '     API: POST /api/v1/password-setup  {"token": "<#以降>", "password": "…"}\n'
        f"{step_terminal}"
        "  3. ログイン後、利用者・連絡先・セキュリティ設定を確認してください。\n\n"
        "---\n"
        f"Welcome to Hokan. Tenant {tenant.code}, your serial {serial}. Choose your first "
        f"password within {hours} hours with the one-time link above; install the terminal "
        "certificate you receive separately; then review users, contacts and settings.\n"
    )


class Onboarding:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        keyring: Keyring,
        tenants: TenantService,
        passwords: Passwords,
        ca: CertificateAuthority,
    ) -> None:
        self.settings = settings
        self.db = db
        self.keyring = keyring
        self.tenants = tenants
        self.passwords = passwords
        self.ca = ca

    def onboard(self, data: OnboardIn, actor: Principal) -> Onboarded:
        """Create everything or nothing (see the module docstring)."""
        create = TenantCreate(
            code=data.code,
            name=data.name,
            product=data.product,
            contacts=[
                ContactIn(
                    email=data.admin_email,
                    name=data.admin_name,
                    roles=[ContactRole.security, ContactRole.notice],
                )
            ],
        )
        tenant_id: uuid.UUID | None = None
        try:
            with self.db.session(write=True, system=True) as s:
                tenant = self.tenants.create(s, create, actor)
                tenant_id = tenant.id
                done = self._rest(s, tenant, data, actor)
        except BaseException:
            if tenant_id is not None:
                self._forget_keys(tenant_id)
            raise
        return done

    def _rest(self, s: Session, tenant: Tenant, data: OnboardIn, actor: Principal) -> Onboarded:
        admin, _ = users.create(
            s,
            self.passwords,
            tenant,
            name=data.admin_name,
            email=data.admin_email,
            roles=["tenant_admin"],
            password=None,  # random and never shown: the admin sets one through the link
            actor=actor,
        )
        token = setup.issue(s, admin, self.settings.password_setup_hours)
        issued = None
        if data.terminal:
            issued = certificates.issue(s, self.ca, tenant, data.terminal, TERMINAL_DAYS, actor)
        # The admin is the tenant's only contact and admin yet: the link reaches only them.
        notify(
            s,
            "lifecycle.welcome",
            tenant=tenant,
            subject="【Hokan】ご利用開始のご案内 / Welcome to Hokan",
            body=_welcome(self.settings, tenant, admin.serial, token, data.terminal),
        )
        audit.record(
            s,
            actor,
            "lifecycle.onboard",
            "tenant",
            tenant.code,
            detail={
                "admin": str(admin.id),
                "terminal": issued.certificate.serial if issued else None,
            },
            tenant_id=tenant.id,
        )
        return Onboarded(
            tenant.id,
            tenant.code,
            admin.serial,
            issued.certificate.serial if issued else None,
            issued.pkcs12 if issued else None,
            issued.password if issued else None,
        )

    def _forget_keys(self, tenant_id: uuid.UUID) -> None:
        """Remove keys made for a tenant whose onboarding failed (nothing else exists)."""
        with self.keyring.db.session(write=True) as s:
            for table in repository.keyring_tables():
                s.execute(repository.delete_rows(table, tenant_id))
