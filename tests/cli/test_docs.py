"""The README's command and settings references are generated and kept fresh (issue 12)."""

from __future__ import annotations

from pathlib import Path

from hokan.cli import docs
from hokan.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_references_are_up_to_date() -> None:
    current = README.read_text(encoding="utf-8")
    assert docs.render(current) == current, "README.md is stale: run 'make docs'"


def test_every_setting_is_described_once() -> None:
    undescribed = [n for n, f in Settings.model_fields.items() if not (f.description or "").strip()]
    assert not undescribed, f"add a description to these settings: {undescribed}"
    text = README.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert text.count(f"| `HOKAN_{name.upper()}` |") == 1, name


def test_every_command_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for line in ("hokan tenant set TENANT", "hokan mail deliver", "hokan ips bans"):
        assert line in text
