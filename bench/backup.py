"""Backup and restore throughput and peak memory (issue 15, ADR 0021).

Builds a SQLite installation (migrated system, keyring and vault databases, a master key)
whose blob store holds a generated data set of ``--mb`` MB: 80 % incompressible files
(attachments are sealed at rest, so real blobs look random) and 20 % JSON-like text.
Then, each in its own process, sampled for peak RSS (psutil, every 20 ms):

- **Hokan backup**: ``Backups.run("daily")`` — SQLite online-backup copy, zstd, AES-256-GCM
  per 4 MiB chunk, written, then every chunk read back and verified, then published;
- **Hokan restore**: ``Backups.restore`` of that generation into a new data directory;
- **baseline backup**: ``tar -cf - DATA | zstd -1 | AES-256-GCM`` (4 MiB chunks, the same
  ``cryptography`` AESGCM) into one file — no read-back;
- **baseline restore**: AES-GCM open | ``zstd -d`` | ``tar -x``.

MB/s is the data set's bytes over wall time. Goals: Hokan ≥ 0.7× the baseline both ways,
peak RSS < 300 MB. The default is the issue's 1 GB; ``--mb N`` for a smaller run.

Run: ``make bench`` or ``.venv/bin/python bench/backup.py [--mb N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

CHUNK = 4 * 1024 * 1024
GOAL_RATIO, GOAL_RSS_MB = 0.7, 300

_ENCRYPT = """
import os, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key = bytes.fromhex(sys.argv[1]); aead = AESGCM(key); out = open(sys.argv[2], "wb")
i = 0
while chunk := sys.stdin.buffer.read(4 * 1024 * 1024):
    nonce = os.urandom(12); body = aead.encrypt(nonce, chunk, i.to_bytes(8, "big"))
    out.write(len(body).to_bytes(4, "big") + nonce + body); i += 1
out.close()
"""
_DECRYPT = """
import sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key = bytes.fromhex(sys.argv[1]); aead = AESGCM(key); src = open(sys.argv[2], "rb"); i = 0
while head := src.read(16):
    n = int.from_bytes(head[:4], "big"); body = src.read(n)
    sys.stdout.buffer.write(aead.decrypt(head[4:16], body, i.to_bytes(8, "big"))); i += 1
"""


def _settings(root: Path) -> dict[str, Any]:
    return {
        "env": "test",
        "data_dir": str(root / "data"),
        "master_key": (root / "master.key").read_text().strip(),
        "backup_local_dir": str(root / "backups"),
    }


def _install(root: Path, mb: int) -> int:
    from sqlalchemy import create_engine

    from hokan import migrations
    from hokan.kit import crypto

    data = root / "data"
    (data / "vault").mkdir(parents=True)
    for which, path in (
        ("system", data / "hokan.db"),
        ("keyring", data / "keyring.db"),
        *(("vault", data / "vault" / f"store-{i}.db") for i in (1, 2, 3)),
    ):
        engine = create_engine(f"sqlite:///{path}")
        migrations.upgrade(which, engine)  # type: ignore[arg-type]
        engine.dispose()
    (root / "master.key").write_text(crypto.b64encode_key(crypto.random_key()))
    blobs = data / "blobs" / "bench"
    blobs.mkdir(parents=True)
    total, i = 0, 0
    text = (
        json.dumps(
            {"氏名": "山田 太郎", "部署": "総務部", "memo": "年末調整の書類"}, ensure_ascii=False
        )
        * 200
    ).encode()
    while total < mb * 1024 * 1024:
        size = CHUNK
        body = (text * (size // len(text) + 1))[:size] if i % 5 == 4 else os.urandom(size)
        (blobs / f"f{i:05d}").write_bytes(body)
        total += size
        i += 1
    return sum(p.stat().st_size for p in data.rglob("*") if p.is_file())


def _phase(phase: str, root: Path, generation: str = "") -> None:
    """Run inside a child process (measured from the parent)."""
    from hokan.backup.service import Backups
    from hokan.runtime import Runtime
    from hokan.settings import Settings

    rt = Runtime(Settings(**_settings(root)))
    service = Backups(rt.settings, rt.keyring, rt.blobs, None)
    if phase == "backup":
        print(json.dumps(service.run("daily")))
    else:
        print(json.dumps(service.restore(generation, root / "restored")))
    rt.close()


def _measure(argv: list[str], *, shell: bool = False) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB, summed over the process tree) and stdout of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv if not shell else argv[0], stdout=subprocess.PIPE, shell=shell)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            top = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not done.is_set():
            try:
                procs = [top, *top.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in procs))
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"failed: {argv}")
    return seconds, peak / 1024 / 1024, out.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="data set size in MB (default 1 GB)")
    parser.add_argument("--phase", choices=("backup", "restore"), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--generation", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        _phase(args.phase, Path(args.root), args.generation)
        return
    if not shutil.which("zstd"):
        raise SystemExit("the baseline needs the zstd command (apt-get install zstd)")
    root = Path(tempfile.mkdtemp(prefix="hokan-bench-backup-"))
    try:
        size = _install(root, args.mb)
        mb = size / 1024 / 1024
        me = [sys.executable, __file__, "--root", str(root)]
        env_path = str(Path(__file__).resolve().parents[1] / "src")
        os.environ["PYTHONPATH"] = env_path + os.pathsep + os.environ.get("PYTHONPATH", "")
        key = os.urandom(32).hex()
        data, out = root / "data", root / "baseline.bin"
        rows = []
        b_sec, b_rss, _ = _measure(
            [
                f"tar -cf - -C {data} . | zstd -1 -q -c | "
                f"{sys.executable} -c '{_ENCRYPT}' {key} {out}"
            ],
            shell=True,
        )
        h_sec, h_rss, taken = _measure([*me, "--phase", "backup"])
        generation = json.loads(taken)["generation"]
        h_inner = float(json.loads(taken)["seconds"])
        (root / "base-restored").mkdir()
        br_sec, br_rss, _ = _measure(
            [
                f"{sys.executable} -c '{_DECRYPT}' {key} {out} | zstd -d -q -c | "
                f"tar -xf - -C {root / 'base-restored'}"
            ],
            shell=True,
        )
        hr_sec, hr_rss, restored = _measure([*me, "--phase", "restore", "--generation", generation])
        hr_inner = float(json.loads(restored)["seconds"])
        stored = sum(p.stat().st_size for p in (root / "backups" / generation).iterdir())
        rows = [
            ("backup", mb / h_sec, mb / b_sec, h_rss, b_rss),
            ("restore", mb / hr_sec, mb / br_sec, hr_rss, br_rss),
        ]
        print(f"data set {mb:.0f} MB (80 % incompressible), stored {stored / 1024 / 1024:.0f} MB")
        print(
            f"{'op':<8} {'Hokan MB/s':>10} {'base MB/s':>10} {'x base':>7} "
            f"{'Hokan RSS':>10} {'base RSS':>9}  goal (>= {GOAL_RATIO}x, RSS < {GOAL_RSS_MB} MB)"
        )
        for op, hokan, base, rss, base_rss in rows:
            ratio = hokan / base
            ok = ratio >= GOAL_RATIO and rss < GOAL_RSS_MB
            print(
                f"{op:<8} {hokan:>10.1f} {base:>10.1f} {ratio:>6.2f}x {rss:>8.0f}MB "
                f"{base_rss:>7.0f}MB  {'met' if ok else 'MISSED'}"
            )
        print(
            f"in-process (without Python start-up and imports): backup {mb / h_inner:.1f} MB/s "
            f"({mb / h_inner / (mb / b_sec):.2f}x), restore {mb / hr_inner:.1f} MB/s "
            f"({mb / hr_inner / (mb / br_sec):.2f}x)"
        )
        print(f"restore end to end: {hr_sec:.1f} s (whitepaper: 30 min on average)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
