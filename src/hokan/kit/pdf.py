"""Japanese PDF plumbing shared by reports and certificates (ReportLab).

One place finds a Japanese TrueType font and registers it with ReportLab, so
every PDF Hokan writes embeds the same font and its Japanese text stays
extractable (``pdftotext``). The font comes from ``HOKAN_PDF_FONT`` when set,
else from the first of the Debian paths below that exists (IPAex Gothic from
``fonts-ipaexfont``, IPA Gothic from ``fonts-ipafont-gothic``, Noto CJK).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

FONT_NAME = "HokanJapanese"

CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


class JapaneseFontMissing(RuntimeError):
    """No Japanese font is installed; the message says how to install one."""


def japanese_font_path() -> Path:
    """The TrueType file to embed; raises :class:`JapaneseFontMissing` if none."""
    override = os.environ.get("HOKAN_PDF_FONT", "").strip()
    paths = (override,) if override else CANDIDATES
    for candidate in paths:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise JapaneseFontMissing(
        "no Japanese font found: install Debian's fonts-ipaexfont "
        "(or set HOKAN_PDF_FONT to a .ttf file)"
    )


@cache
def japanese_font() -> str:
    """Register the Japanese font with ReportLab once; return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = japanese_font_path()
    if path.suffix.lower() == ".ttc":
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
    else:
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path)))
    return FONT_NAME
