"""The shared Japanese font is found and embedded in a PDF whose text extracts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hokan.kit.pdf import japanese_font, japanese_font_path


def test_a_japanese_pdf_embeds_the_font_and_its_text_extracts(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    assert japanese_font_path().is_file()
    target = tmp_path / "ja.pdf"
    page = canvas.Canvas(str(target))
    page.setFont(japanese_font(), 14)
    page.drawString(72, 720, "データ消去証明書 株式会社テスト")
    page.save()
    data = target.read_bytes()
    assert b"/FontFile2" in data  # embedded TrueType
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    text = subprocess.run(
        ["pdftotext", str(target), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "データ消去証明書" in text
