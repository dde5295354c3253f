"""Japanese first, English from a Babel catalogue (``locale/en/LC_MESSAGES/messages.po``).

Message ids are the Japanese texts themselves, so a missing English entry still
shows a correct (Japanese) page; ``tests/console/test_i18n.py`` keeps the
catalogue complete. The catalogue is read with Babel's PO reader at start-up:
no compiled ``.mo`` file to forget.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from starlette.requests import HTTPConnection

from hokan.httpkit.context import preferred_language

LOCALE_DIR = Path(__file__).parent / "locale"
LANG_COOKIE = "hokan_lang"  # the user's own choice, set by the language switch
LANGUAGES = ("ja", "en")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """msgid → translation for ``lang`` (empty for Japanese, the source language)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == "ja" or not path.exists():
        return {}
    with path.open("rb") as f:
        cat = read_po(f, locale=lang)
    return {str(m.id): str(m.string) for m in cat if m.id and m.string and not m.fuzzy}


def gettext(lang: str) -> Callable[[str], str]:
    table = catalogue(lang)

    def _(text: str) -> str:
        return table.get(text, text)

    return _


def language(request: HTTPConnection) -> str:
    """The user's setting (the language switch's cookie), else ``Accept-Language``."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return preferred_language(request.headers.get("accept-language"))
