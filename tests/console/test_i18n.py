"""The English catalogue covers every Japanese text of the console (UI-1: Japanese first,
English from a Babel catalogue)."""

from __future__ import annotations

import re
from pathlib import Path

from hokan.console import i18n

ROOT = Path(i18n.__file__).resolve().parent
TEMPLATES = ROOT.parent / "web" / "templates" / "console"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def console_texts() -> set[str]:
    """Every message id the console can show: ``_("…")`` in templates, the values of
    ``_({...})`` tables, navigation labels and the label tables of the page modules."""
    ids: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        ids |= set(re.findall(r'_\(\s*"([^"]+)"\s*\)', text))
        ids |= set(re.findall(r"_\(\s*'([^']+)'\s*\)", text))
        for table in re.findall(r"_\(\{([^}]*)\}", text):
            ids |= set(re.findall(r':\s*"([^"]+)"', table))
    for path in ROOT.glob("*.py"):
        text = path.read_text()
        ids |= set(re.findall(r'\("/console[^"]*", "([^"]+)"\)', text))
        for table in re.findall(r"(?:_LABELS|PURPOSES) = \{(.*?)\n\}", text, re.S):
            ids |= set(re.findall(r':\s*"([^"]+)"', table))
        ids |= set(re.findall(r'\b_\(\s*"([^"]+)"', text))
        ids |= set(re.findall(r'gettext\(i18n\.language\(request\)\)\(\s*"([^"]+)"', text))
    return {i for i in ids if JAPANESE.search(i)}


def test_every_japanese_text_has_an_english_translation() -> None:
    texts = console_texts()
    assert len(texts) > 100
    english = i18n.catalogue("en")
    missing = sorted(t for t in texts if not english.get(t))
    assert missing == [], missing
    # And the translations are English, not copies of the Japanese.
    assert not [t for t in texts if JAPANESE.search(english[t])]


def test_language_comes_from_the_setting_then_accept_language() -> None:
    from starlette.requests import Request

    def request(cookie: str = "", accept: str = "") -> Request:
        headers = []
        if cookie:
            headers.append((b"cookie", f"{i18n.LANG_COOKIE}={cookie}".encode()))
        if accept:
            headers.append((b"accept-language", accept.encode()))
        return Request({"type": "http", "headers": headers})

    assert i18n.language(request()) == "ja"
    assert i18n.language(request(accept="en-US,en;q=0.9")) == "en"
    assert i18n.language(request(cookie="ja", accept="en-US")) == "ja"
    assert i18n.language(request(cookie="en", accept="ja")) == "en"
    assert i18n.language(request(cookie="xx", accept="ja")) == "ja"
