"""Account inventory (IAM-7): dormant and privileged accounts, reviews, bulk disable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hokan.identity import inventory, sessions
from hokan.kit.clock import utcnow
from hokan.models import AccountReview, ApiToken, Tenant, User
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.conftest import TenantHandle, create_user

PASSWORD = "春の小川はさらさら行くよ"


def test_inventory_review_and_disable_dormant(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        admin, _ = create_user(
            s,
            runtime.passwords,
            tenant,
            name="管理 花子",
            email="a@example.jp",
            roles=["tenant_admin"],
            password=PASSWORD,
            actor=SYSTEM,
        )
        sleeper, _ = create_user(
            s,
            runtime.passwords,
            tenant,
            name="休眠 次郎",
            email="s@example.jp",
            roles=["staff_user"],
            password=PASSWORD,
            actor=SYSTEM,
        )
        admin_serial, sleeper_serial = admin.serial, sleeper.serial
    long_ago = utcnow() - timedelta(days=120)
    with runtime.db.session(write=True, system=True) as s:
        s.execute(
            update(User)
            .where(User.serial == sleeper_serial)
            .values(created_at=long_ago, last_login_at=long_ago)
        )
        s.execute(
            update(ApiToken)
            .where(ApiToken.tenant_id == t.id)
            .values(created_at=long_ago, last_used_at=long_ago)
        )
    r = client.post("/api/v1/auth/login", json={"serial": admin_serial, "password": PASSWORD})
    jar = {
        "Cookie": f"{sessions.SESSION_COOKIE}={r.cookies[sessions.SESSION_COOKIE]}",
        "X-CSRF-Token": r.json()["csrf_token"],
    }

    accounts = {a["id"]: a for a in client.get("/api/v1/accounts/inventory", headers=jar).json()}
    assert (
        accounts[admin_serial]["privileged"] is True and accounts[admin_serial]["dormant"] is False
    )
    assert (
        accounts[sleeper_serial]["dormant"] is True
        and accounts[sleeper_serial]["privileged"] is False
    )
    token_prefix = t.token[:11]
    assert accounts[token_prefix]["kind"] == "token" and accounts[token_prefix]["dormant"] is True

    review = {
        "decisions": [{"account": sleeper_serial, "decision": "disable", "note": "退職済み"}],
        "comment": "2026年11月 棚卸",
    }
    recorded = client.post("/api/v1/accounts/reviews", json=review, headers=jar)
    assert recorded.status_code == 201, recorded.text
    with runtime.db.session(system=True) as s:
        [row] = list(s.scalars(select(AccountReview)))
        assert row.decisions[0]["decision"] == "disable" and "管理 花子" in row.reviewer
    # The answer names the review it recorded (it said "None" before the row was flushed).
    assert recorded.json()["id"] == str(row.id)
    assert recorded.json()["decisions"] == 1

    done = client.post("/api/v1/accounts/disable-dormant", headers=jar).json()["disabled"]
    assert sorted(done) == sorted([sleeper_serial, token_prefix])
    after = {a["id"]: a for a in client.get("/api/v1/accounts/inventory", headers=jar).json()}
    assert (
        after[sleeper_serial]["status"] == "disabled" and after[token_prefix]["status"] == "revoked"
    )
    assert (
        client.get("/api/v1/collections", headers=t.headers).status_code == 401
    )  # the dormant token is dead
    assert (
        client.post(
            "/api/v1/auth/login", json={"serial": sleeper_serial, "password": PASSWORD}
        ).status_code
        == 401
    )


def test_inventory_needs_the_admin_permission(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    reader = make_tenant(scopes=frozenset({"records:read"}))
    assert client.get("/api/v1/accounts/inventory", headers=reader.headers).status_code == 403


def test_a_recorded_review_has_its_id_at_once(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    """The row id exists before the unit of work commits (the answer is built from it)."""
    t = make_tenant()
    review = inventory.ReviewIn(decisions=[], comment="四半期の棚卸")
    with runtime.db.session(write=True, tenant=t.id) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        row = inventory.record_review(s, tenant, SYSTEM, review)
        assert row.id is not None
        assert s.scalars(select(AccountReview.id)).one() == row.id
