"""EDGE-6: the built-in scanner finds EICAR anywhere in a stream and executables by header."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hokan.app import create_app
from hokan.runtime import Runtime
from hokan.scanning import yara_scanner
from hokan.scanning.clamd import ClamdScanner
from hokan.scanning.scanner import _EICAR, BuiltinScanner, ScannerUnavailable, default_scanner
from hokan.scanning.yara_scanner import YaraScanner
from hokan.settings import Settings
from tests.conftest import TenantHandle

# A minimal PE image: "MZ", e_lfanew at 0x3C pointing at "PE\0\0".
PE = b"MZ\x90\x00" + b"\x00" * 0x38 + (0x80).to_bytes(4, "little") + b"\x00" * 0x40 + b"PE\x00\x00"


def test_eicar_found_across_chunk_boundaries() -> None:
    data = b"%PDF-1.7 ordinary report " * 100 + _EICAR + b" trailer"
    for size in (1, 7, 64, 4096):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        result = BuiltinScanner().scan(chunks)
        assert not result.clean and result.signature == "EICAR-Test-File"


def test_executable_header_refused_and_clean_file_passes() -> None:
    assert BuiltinScanner().scan([PE + b"rest"]).signature == "Executable.Win.PE"
    assert not BuiltinScanner().scan([PE[:3], PE[3:70], PE[70:] + b"x" * 100]).clean
    # "MZ" alone starts ordinary text too (a CSV row of a company called MZ…).
    assert BuiltinScanner().scan(["MZ商事,東京都港区\n".encode()]).clean
    assert BuiltinScanner().scan([b"\x89PNG\r\n\x1a\n", b"image data"]).clean


def test_builtin_finds_a_header_split_across_tiny_chunks() -> None:
    assert BuiltinScanner().scan([b"\x7f", b"E", b"LF", b"\x02\x01"]).signature == (
        "Executable.Unix.ELF"
    )


# -- the YARA rules (the default scanner) --------------------------------------------------

YARA_CASES = [
    (b"%PDF-1.7 report " * 1000 + _EICAR, "EICAR-Test-File"),
    (PE + b"\x00" * 100, "Executable.Win.PE"),
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "Executable.Unix.ELF"),
    (b"\xcf\xfa\xed\xfe\x07\x00" + b"\x00" * 100, "Executable.Mac.MachO"),
    (
        b"%PDF-1.4\n" + b"x" * 5000 + b"MZ\x90\x00 This program cannot be run in DOS mode",
        "Executable.Embedded.PE",
    ),
    (b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml word/vbaProject.bin", "Office.Macro.VBA"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "_VBA_PROJECT".encode("utf-16-le"),
        "Office.Macro.VBA",
    ),
    (
        b"%PDF-1.5\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
        "PDF.Suspicious.JavaScript",
    ),
    (b"%PDF-1.5\n1 0 obj << /S /J#61vaScript >>", "PDF.Suspicious.JavaScript"),
    (b"%PDF-1.5\n1 0 obj << /S /Launch /F (cmd.exe) >>", "PDF.Suspicious.Launch"),
]
CLEAN = [
    b"%PDF-1.7\n" + "請求書 株式会社山田商事 合計 ¥12,000".encode() * 200,
    "氏名,住所\n山田太郎,東京都\n".encode("cp932"),
    b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml xl/workbook.xml",
    b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10,
    b"Notes about MZ and ELF formats in a plain text file",  # not at the start
    "MZ商事,東京都港区,03-1234-5678\n".encode(),  # "MZ" at the start of ordinary text
]


@pytest.mark.parametrize(("content", "signature"), YARA_CASES)
def test_yara_rules_find_each_family(content: bytes, signature: str) -> None:
    result = YaraScanner().scan([content[i : i + 777] for i in range(0, len(content), 777)])
    assert (result.clean, result.signature, result.scanner) == (False, signature, "yara")


@pytest.mark.parametrize("content", CLEAN)
def test_yara_rules_pass_ordinary_documents(content: bytes) -> None:
    assert YaraScanner().scan([content]).clean


def test_yara_finds_a_signature_cut_by_a_window_boundary() -> None:
    # EICAR straddles the first 1 MiB window's end; later windows overlap it.
    cut = yara_scanner.WINDOW - 30
    data = b"a" * cut + _EICAR + b"b" * 100_000
    session = YaraScanner().start()
    for i in range(0, len(data), 65_536):
        session.feed(data[i : i + 65_536])
    assert session.finish().signature == "EICAR-Test-File"
    assert YaraScanner().scan([b"a" * (3 * yara_scanner.WINDOW)]).clean


def test_default_scanner_choice(settings_factory: Callable[..., Settings]) -> None:
    assert default_scanner().name == "yara"
    assert default_scanner(settings_factory()).name == "yara"
    chosen = default_scanner(settings_factory(clamd_address="127.0.0.1:3310"))
    assert isinstance(chosen, ClamdScanner)


# -- ClamAV's daemon -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real clamd on loopback with a one-signature database that detects EICAR."""
    binary = shutil.which("clamd") or (
        "/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None
    )
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have clamd (apt-get install clamav-daemon)")
        pytest.skip("clamd not installed")
    root = tmp_path_factory.mktemp("clamd")
    (root / "db").mkdir()
    (root / "db" / "hokan-test.ndb").write_text(f"Hokan.Test.EICAR:0:*:{_EICAR.hex()}\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (root / "clamd.conf").write_text(
        "Foreground yes\n"
        f"TCPSocket {port}\nTCPAddr 127.0.0.1\n"
        f"DatabaseDirectory {root / 'db'}\n"
        f"LogFile {root / 'clamd.log'}\n"
        "StreamMaxLength 2M\n"
    )
    proc = subprocess.Popen(
        [binary, "-c", str(root / "clamd.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not ClamdScanner(address, 2).ping():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("clamd did not start")
        time.sleep(0.2)
    yield address
    proc.terminate()
    proc.wait(timeout=10)


def test_clamd_instream_finds_eicar(clamd: str) -> None:
    scanner = ClamdScanner(clamd)
    infected = scanner.scan([b"ordinary text " * 5000, _EICAR[:30], _EICAR[30:]])
    assert not infected.clean
    assert infected.signature is not None and infected.signature.startswith("Hokan.Test.EICAR")
    assert infected.scanner == "clamd"
    assert scanner.scan([b"%PDF-1.7 clean report"]).clean


def test_clamd_fails_closed(clamd: str) -> None:
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(clamd).scan([b"x" * (3 * 1024 * 1024)])  # over its StreamMaxLength
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        unused = sock.getsockname()[1]
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(f"127.0.0.1:{unused}", 1).scan([b"x"])


def test_attachments_go_through_clamd(
    clamd: str,
    settings_factory: Callable[..., Settings],
    make_tenant: Callable[..., TenantHandle],
) -> None:
    rt = Runtime(settings_factory(clamd_address=clamd))
    base = "/api/v1/collections/staff/records/r1"
    with TestClient(create_app(runtime=rt), client=("127.0.0.1", 50000)) as c:
        t = make_tenant()
        assert c.put(base, json={"n": 1}, headers=t.headers).status_code == 201
        bad = c.post(
            f"{base}/attachments", files={"file": ("a.txt", b"hi " + _EICAR)}, headers=t.headers
        )
        assert bad.status_code == 422
        assert bad.json()["scanner"] == "clamd"
        good = c.post(f"{base}/attachments", files={"file": ("b.txt", b"hello")}, headers=t.headers)
        assert good.status_code == 201
    rt.close()
