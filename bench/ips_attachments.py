"""IPS and attachments benchmark (issue 7), in one process, ratios against baselines.

- Rate-limit decision (``Ips.check_ip``) in memory and in Redis, against a bare
  Redis round trip (``PING``) measured in the same run.
- Scan throughput (MB/s) of the built-in scanners (YARA, pure Python) over a
  file, against only reading the same bytes in the same 64 KiB chunks.
- 1 MB attachment upload (sniff, scan, seal, store, metadata, audit) and
  download (open, verify, audit), against writing (with fsync, as the folder
  store does) and reading the same bytes as a plain file.

Run: ``make bench`` or ``.venv/bin/python bench/ips_attachments.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit import runtime_for
from hokan.edge.ips import Ips, MemoryIpsStore, RedisIpsStore
from hokan.models import Product
from hokan.principals.principal import ALL_TOKEN_SCOPES, SYSTEM, Principal, PrincipalKind
from hokan.records.attachments.upload import Upload
from hokan.runtime import Runtime
from hokan.scanning.scanner import BuiltinScanner
from hokan.scanning.yara_scanner import YaraScanner
from hokan.tenants.schemas import TenantCreate

CHUNK = 64 * 1024
MB = 1024 * 1024


def _per_call_us(n: int, fn: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - started) / n * 1e6


def bench_decisions(rt: Runtime, n: int, redis_url: str) -> None:
    ips_mem = Ips(rt.settings, MemoryIpsStore(), rt.db)
    ips_mem.check_ip("192.0.2.1")
    mem = _per_call_us(n, lambda i: ips_mem.check_ip(f"192.0.2.{i % 250}"))
    print(f"rate-limit decision   memory {mem:7.2f} µs")
    try:
        store = RedisIpsStore(redis_url, prefix=f"hokan:bench:{uuid.uuid4().hex}")
        store.client.ping()
    except Exception as exc:
        print(f"rate-limit decision   redis  skipped: {type(exc).__name__}: {exc}")
        return
    try:
        ips_redis = Ips(rt.settings, store, rt.db)
        ips_redis.check_ip("192.0.2.1")
        ping = _per_call_us(n, lambda i: store.client.ping())
        red = _per_call_us(n, lambda i: ips_redis.check_ip(f"192.0.2.{i % 250}"))
        print(
            f"rate-limit decision   redis  {red:7.2f} µs   bare PING {ping:7.2f} µs   "
            f"redis/PING {red / ping:.2f}   redis/memory {red / mem:.1f}"
        )
    finally:
        for key in store.client.scan_iter(f"{store.prefix}:*"):
            store.client.delete(key)


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def bench_scan(tmp: Path, size_mb: int, rounds: int) -> None:
    path = tmp / "scan.bin"
    # Document-like content: compressed-looking bytes and text, no signature.
    block = os.urandom(MB // 2) + ("請求書 株式会社テスト 合計金額 " * 10_000).encode()[: MB // 2]
    path.write_bytes(block * size_mb)

    def mbps(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return size_mb / statistics.median(times)

    read = mbps(lambda: sum(len(c) for c in _chunks(path)))
    yara = mbps(lambda: YaraScanner().scan(_chunks(path)))
    builtin = mbps(lambda: BuiltinScanner().scan(_chunks(path)))
    print(
        f"scan {size_mb} MB            read only {read:8.0f} MB/s   yara {yara:7.0f} MB/s "
        f"({yara / read:.1%} of read)   pure python {builtin:7.0f} MB/s ({builtin / read:.1%})"
    )


def bench_attachments(rt: Runtime, tmp: Path, n: int) -> None:
    with rt.db.session(write=True, system=True) as s:
        tenant = rt.tenants.create(
            s,
            TenantCreate(
                code=f"b-{uuid.uuid4().hex[:6]}", name="ベンチ株式会社", product=Product.staff
            ),
            SYSTEM,
        )
    principal = Principal(PrincipalKind.token, "bench", "bench", tenant.id, ALL_TOKEN_SCOPES)
    with rt.db.session(write=True, tenant=tenant.id) as s:
        rt.records.put(s, principal, "staff", "s-1", {"name": "山田"})
    content = b"%PDF-1.7\n" + os.urandom(MB - 9)
    pieces = [content[i : i + CHUNK] for i in range(0, MB, CHUNK)]

    def write_file(i: int) -> None:
        target = tmp / f"plain-{i}"
        with target.open("wb") as f:
            for piece in pieces:
                f.write(piece)
            f.flush()
            os.fsync(f.fileno())

    ids: list[uuid.UUID] = []

    def upload(i: int) -> None:
        up = Upload(f"file-{i}.pdf", "application/pdf", iter(pieces))
        # As the route does it: admit, receive (no transaction open), store.
        with rt.db.session(write=True, tenant=tenant.id) as s:
            admission = rt.attachments.admit(s, principal, "staff", "s-1")
        received = rt.attachments.receive(admission, up)
        with rt.db.session(write=True, tenant=tenant.id) as s:
            ids.append(rt.attachments.store(s, principal, received).id)

    def read_file(i: int) -> None:
        for _ in _chunks(tmp / f"plain-{i}"):
            pass

    def download(i: int) -> None:
        with rt.db.session(write=True, tenant=tenant.id) as s:
            _, stream = rt.attachments.open(s, principal, "staff", "s-1", ids[i])
        for _ in stream:
            pass

    rt.attachments.per_record = n + 1
    write_ms = _per_call_us(n, write_file) / 1000
    up_ms = _per_call_us(n, upload) / 1000
    read_ms = _per_call_us(n, read_file) / 1000
    down_ms = _per_call_us(n, download) / 1000
    print(
        f"1 MB attachment       upload {1000 / up_ms:6.0f} MB/s ({up_ms:5.1f} ms)   "
        f"file write+fsync {1000 / write_ms:6.0f} MB/s   upload/write time {up_ms / write_ms:.2f}x"
    )
    print(
        f"1 MB attachment       download {1000 / down_ms:4.0f} MB/s ({down_ms:5.1f} ms)   "
        f"file read {1000 / read_ms:6.0f} MB/s   download/read time {down_ms / read_ms:.2f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument(
        "--redis-url", default=os.environ.get("HOKAN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")
    )
    args = parser.parse_args()
    decisions, scan_mb, uploads = (2000, 8, 5) if args.quick else (20_000, 64, 30)
    print(f"IPS and attachments benchmark ({'quick' if args.quick else 'full'}, SQLite)")
    with tempfile.TemporaryDirectory() as tmp, runtime_for("sqlite", "") as rt:
        rt.keyring.verify_master(initialise=True)
        bench_decisions(rt, decisions, args.redis_url)
        bench_scan(Path(tmp), scan_mb, 3)
        bench_attachments(rt, Path(tmp), uploads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
