"""EDGE-6: the built-in scanner finds EICAR anywhere in a stream and executables by header."""

from __future__ import annotations

from hokan.edge.scanner import _EICAR, BuiltinScanner


def test_eicar_found_across_chunk_boundaries() -> None:
    data = b"%PDF-1.7 ordinary report " * 100 + _EICAR + b" trailer"
    for size in (1, 7, 64, 4096):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        result = BuiltinScanner().scan(chunks)
        assert not result.clean and result.signature == "EICAR-Test-File"


def test_executable_header_refused_and_clean_file_passes() -> None:
    assert not BuiltinScanner().scan([b"MZ\x90\x00rest"]).clean
    assert BuiltinScanner().scan([b"\x89PNG\r\n\x1a\n", b"image data"]).clean
