"""My Number vault benchmark (issue 5), n=3 fragment stores, k=2.

- Number register and reveal, in process and over HTTP (a real uvicorn server on
  loopback, one sequential client): ops/s and p99. Baseline in the same run: one
  AES-256-GCM encryption plus one single-row insert into one database of the same
  engine. Goal: register >= 0.3 x baseline.
- Identity documents of 1 MB, register and download: MB/s and p99. Baseline: writing
  the same bytes to three plain files. Goal: register >= 0.5 x baseline.

Run: ``make bench`` or ``.venv/bin/python bench/vault.py [--numbers N] [--documents N]``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import uvicorn
from sqlalchemy import Column as C
from sqlalchemy import LargeBinary, MetaData, Table, Uuid, insert

from hokan import migrations
from hokan.app import create_app
from hokan.identity import tokens
from hokan.kit import crypto
from hokan.kit.db import Database, make_engine
from hokan.models import Product
from hokan.principals.principal import SYSTEM, Principal, PrincipalKind, Scope
from hokan.runtime import Runtime
from hokan.settings import Settings
from hokan.tenants.schemas import TenantCreate
from hokan.vault.numbers import NumberKind, individual_check_digit
from hokan.vault.views import RecordLink

MB = 1_048_576
VAULT = frozenset({Scope.vault_read, Scope.vault_write})


def number() -> str:
    first = "".join(secrets.choice("0123456789") for _ in range(11))
    return first + str(individual_check_digit(first))


def document() -> bytes:
    return b"%PDF-1.7\n" + os.urandom(MB - 9)


@contextmanager
def pg_stores(admin_url: str, count: int) -> Iterator[list[str]]:
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    if (url.host or "127.0.0.1") not in ("localhost", "::1") and not (url.host or "").startswith(
        "127."
    ):
        raise RuntimeError("PostgreSQL must be on loopback")
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    stem = f"hokan_vbench_{os.getpid()}_{secrets.token_hex(3)}"
    names = [f"{stem}_{i}" for i in range(count)]
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as admin:
        try:
            for name in names:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            yield [
                url.set(drivername="postgresql+psycopg", database=n).render_as_string(False)
                for n in names
            ]
        finally:
            for name in names:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


@contextmanager
def runtime_for(backend: str, pg_url: str) -> Iterator[tuple[Runtime, Database]]:
    """A migrated runtime plus a separate plain database for the baseline."""
    with tempfile.TemporaryDirectory() as tmp:
        key = crypto.b64encode_key(crypto.random_key())
        base = {
            "env": "test",
            "data_dir": Path(tmp),
            "master_key": key,
            "log_level": "WARNING",
            # One client on loopback sends more than the IPS's per-IP window allows.
            "ips_exempt_ips": "127.0.0.1",
        }
        if backend == "sqlite":
            urls = {"plain": f"sqlite:///{tmp}/plain.db"}
            settings = Settings(**base)  # type: ignore[arg-type]
            with _ready(settings, urls["plain"]) as out:
                yield out
            return
        with pg_stores(pg_url, 6) as dbs:
            settings = Settings(
                **base,  # type: ignore[arg-type]
                database_url=dbs[0],
                keyring_database_url=dbs[1],
                vault_store_urls=",".join(dbs[2:5]),
            )
            with _ready(settings, dbs[5]) as out:
                yield out


@contextmanager
def _ready(settings: Settings, plain_url: str) -> Iterator[tuple[Runtime, Database]]:
    rt = Runtime(settings)
    migrations.upgrade("system", rt.db.engine)
    migrations.upgrade("keyring", rt.keyring_db.engine)
    for store in rt.vault_stores.dbs:
        migrations.upgrade("vault", store.engine)
    rt.keyring.verify_master(initialise=True)
    plain = Database(make_engine(plain_url))
    try:
        yield rt, plain
    finally:
        plain.dispose()
        rt.close()


def goal(ratio: float, target: float) -> str:
    return "met" if ratio >= target else "MISSED"


def _laps(n: int, fn: Callable[[int], object], offset: int = 0) -> list[float]:
    laps = []
    for i in range(n):
        t = time.perf_counter()
        fn(offset + i)
        laps.append(time.perf_counter() - t)
    return laps


def _rate(laps: list[float]) -> tuple[float, float]:
    p99 = statistics.quantiles(laps, n=100)[98] if len(laps) >= 2 else laps[0]
    return len(laps) / sum(laps), p99 * 1000


def timed(n: int, fn: Callable[[int], object]) -> tuple[float, float]:
    """(ops/s, p99 ms) of n calls."""
    return _rate(_laps(n, fn))


ROUNDS = 5


def paired(
    n: int, baseline: Callable[[int], object], fn: Callable[[int], object]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Baseline and measured calls in alternating rounds, so a load change on the shared
    machine hits both sides alike: ((ops/s, p99 ms) baseline, (ops/s, p99 ms) measured)."""
    base: list[float] = []
    mine: list[float] = []
    per = max(1, n // ROUNDS)
    for r in range(ROUNDS):
        base += _laps(per, baseline, r * per)
        mine += _laps(per, fn, r * per)
    return _rate(base), _rate(mine)


def measure(
    rt: Runtime, plain: Database, n_numbers: int, n_docs: int, tmp: Path
) -> list[tuple[str, float, float, str]]:
    table = Table("bench_rows", MetaData(), C("id", Uuid, primary_key=True), C("blob", LargeBinary))
    table.metadata.create_all(plain.engine)
    key = crypto.random_key()
    with rt.db.session(write=True, system=True) as s:
        tenant = rt.tenants.create(
            s,
            TenantCreate(
                code=f"b-{uuid.uuid4().hex[:6]}", name="ベンチ株式会社", product=Product.staff
            ),
            SYSTEM,
        )
        token = tokens.issue(
            s, tenant.id, "bench", scopes=sorted(VAULT), days=30, actor=SYSTEM
        ).secret
    clerk = Principal(PrincipalKind.token, "bench", "bench", tenant.id, VAULT)
    link = RecordLink("staff", "s-1")
    out: list[tuple[str, float, float, str]] = []

    def baseline(_i: int) -> None:
        blob = crypto.encrypt(key, number().encode(), b"aad")
        with plain.session(write=True) as s:
            s.execute(insert(table).values(id=uuid.uuid4(), blob=blob))

    ids: list[uuid.UUID] = []

    def register(_i: int) -> None:
        with rt.db.session(write=True, tenant=tenant.id) as s:
            ids.append(rt.vault.register_number(s, clerk, number(), NumberKind.individual, link).id)

    (base_ops, base_p99), (ops, p99) = paired(n_numbers, baseline, register)
    out.append(("baseline: AES-GCM + 1 insert", base_ops, base_p99, ""))
    ratio = ops / base_ops
    out.append(
        (
            "number register (in process)",
            ops,
            p99,
            f"x{ratio:.2f} of baseline (goal >= 0.3: {'met' if ratio >= 0.3 else 'MISSED'})",
        )
    )

    def reveal(i: int) -> None:
        with rt.db.session(write=True, tenant=tenant.id) as s:
            rt.vault.reveal(s, clerk, ids[i % len(ids)], "tax")

    ops, p99 = timed(n_numbers, reveal)
    out.append(("number reveal (in process)", ops, p99, f"x{ops / base_ops:.2f} of baseline"))

    doc = document()

    def files(i: int) -> None:
        for j in range(3):
            (tmp / f"plain-{i}-{j}.bin").write_bytes(doc)

    doc_ids: list[uuid.UUID] = []

    def register_doc(_i: int) -> None:
        with rt.db.session(write=True, tenant=tenant.id) as s:
            doc_ids.append(rt.vault.register_document(s, clerk, doc, link).id)

    (f_ops, f_p99), (ops, p99) = paired(n_docs, files, register_doc)
    out.append(("baseline: 1 MB to 3 plain files", f_ops, f_p99, f"{f_ops:.1f} MB/s"))
    ratio = ops / f_ops
    out.append(
        (
            "document register 1 MB",
            ops,
            p99,
            f"{ops:.1f} MB/s, x{ratio:.2f} of files (goal >= 0.5: {goal(ratio, 0.5)})",
        )
    )

    def download(i: int) -> None:
        with rt.db.session(write=True, tenant=tenant.id) as s:
            rt.vault.download(s, clerk, doc_ids[i % len(doc_ids)], "tax")

    ops, p99 = timed(n_docs, download)
    out.append(("document download 1 MB", ops, p99, f"{ops:.1f} MB/s"))

    with (
        serve(rt) as base_url,
        httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http,
    ):
        http_ids: list[str] = []

        def http_register(_i: int) -> None:
            r = http.post("/api/v1/vault/numbers", json={"number": number(), "record_id": "s-1"})
            r.raise_for_status()
            http_ids.append(r.json()["id"])

        ops, p99 = timed(n_numbers, http_register)
        out.append(("number register (HTTP)", ops, p99, f"x{ops / base_ops:.2f} of baseline"))

        def http_reveal(i: int) -> None:
            http.post(
                f"/api/v1/vault/entries/{http_ids[i % len(http_ids)]}/reveal",
                json={"purpose": "tax"},
            ).raise_for_status()

        ops, p99 = timed(n_numbers, http_reveal)
        out.append(("number reveal (HTTP)", ops, p99, ""))

        def http_doc(_i: int) -> None:
            http.post(
                "/api/v1/vault/documents?record_id=s-1",
                content=doc,
                headers={"Content-Type": "application/pdf"},
            ).raise_for_status()

        ops, p99 = timed(n_docs, http_doc)
        out.append(
            (
                "document register 1 MB (HTTP)",
                ops,
                p99,
                f"{ops:.1f} MB/s, x{ops / f_ops:.2f} of files",
            )
        )
    return out


@contextmanager
def serve(rt: Runtime) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(runtime=rt), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=300)
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "HOKAN_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    print(
        f"vault benchmark: n=3 stores, k=2; {args.numbers} numbers, "
        f"{args.documents} x 1 MB documents"
    )
    for backend in args.backend or ["sqlite", "postgresql"]:
        try:
            with (
                runtime_for(backend, args.pg_url) as (rt, plain),
                tempfile.TemporaryDirectory() as tmp,
            ):
                rows = measure(rt, plain, args.numbers, args.documents, Path(tmp))
        except Exception as exc:  # a backend that cannot run is reported, not fatal
            print(f"{backend:<11} skipped: {type(exc).__name__}: {exc}")
            continue
        for name, ops, p99, note in rows:
            print(f"{backend:<11} {name:<32} {ops:9.1f} ops/s   p99 {p99:7.2f} ms   {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
