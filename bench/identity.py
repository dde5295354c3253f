"""Login benchmark (issue: identity and lockout), in one process.

- Argon2id verification alone vs a full login (lookup, verify, lockout
  bookkeeping, session row, audit entry) with the default Argon2id parameters:
  the bookkeeping must add at most 10 % over the bare hash.
- Session authentication vs API-token authentication per request.

Run: ``make bench`` or ``.venv/bin/python bench/identity.py [--logins N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit import runtime_for
from hokan.identity import sessions, tokens, users
from hokan.models import Product
from hokan.principals.principal import SYSTEM, Scope
from hokan.runtime import Runtime
from hokan.tenants.schemas import TenantCreate

PASSWORD = "春の小川はさらさら行くよ"


def _setup(rt: Runtime) -> tuple[str, str]:
    with rt.db.session(write=True, system=True) as s:
        tenant = rt.tenants.create(
            s,
            TenantCreate(
                code=f"b-{uuid.uuid4().hex[:6]}", name="ベンチ株式会社", product=Product.staff
            ),
            SYSTEM,
        )
        user, _ = users.create(
            s,
            rt.passwords,
            tenant,
            name="山田 太郎",
            email="y@example.jp",
            roles=["staff_user"],
            password=PASSWORD,
            actor=SYSTEM,
        )
        token = tokens.issue(
            s, tenant.id, "bench", scopes=[Scope.records_read], days=30, actor=SYSTEM
        ).secret
        return user.serial, token


def _rate(n: int, fn: object) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return n / (time.perf_counter() - started)


def measure(rt: Runtime, logins: int, auths: int) -> tuple[float, float, float, float]:
    serial, token = _setup(rt)
    stored = rt.passwords.hash(PASSWORD)
    bare = _rate(logins, lambda: rt.passwords.verify(stored, PASSWORD))
    results: list[sessions.LoginResult] = []
    full = _rate(
        logins,
        lambda: results.append(sessions.login(rt.db, rt.passwords, serial, password=PASSWORD)),
    )
    cookie = results[-1].session_token
    by_session = _rate(auths, lambda: sessions.authenticate(rt.db, cookie, "GET", None))
    by_token = _rate(auths, lambda: tokens.authenticate(rt.db, token))
    return bare, full, by_session, by_token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=60)
    parser.add_argument("--auths", type=int, default=2000)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "HOKAN_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    print(f"login benchmark: {args.logins} logins, {args.auths} authentications, default Argon2id")
    for backend in args.backend or ["sqlite", "postgresql"]:
        try:
            with runtime_for(backend, args.pg_url) as rt:
                bare, full, by_session, by_token = measure(rt, args.logins, args.auths)
        except Exception as exc:  # a backend that cannot run is reported, not fatal
            print(f"{backend:<11} skipped: {type(exc).__name__}: {exc}")
            continue
        overhead = bare / full - 1
        mark = "met" if overhead <= 0.10 else "MISSED"
        print(
            f"{backend:<11} argon2id verify alone {bare:8.1f}/s   full login {full:8.1f}/s"
            f"   bookkeeping +{overhead:.1%} (goal <= 10%: {mark})"
        )
        print(
            f"{backend:<11} authenticate: session {by_session:8,.0f}/s   token {by_token:8,.0f}/s"
            f"   session/token {by_session / by_token:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
