"""Form plumbing: reading fields, and a service's refusal shown next to its field."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import FormData

from hokan.kit.errors import HokanError


def text(form: FormData, name: str, limit: int = 1024) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def raw(form: FormData, name: str, limit: int = 1024) -> str:
    """A field as typed (passwords: never stripped)."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def values(form: FormData, *names: str) -> dict[str, str]:
    """What the user typed, to show again after a refusal (never passwords)."""
    return {n: text(form, n) for n in names}


def field_errors(
    exc: HokanError, lang: str, fields: Mapping[str, str], default: str = "_form"
) -> dict[str, dict[str, str]]:
    """``{field: {"code", "message"}}``: the API's error code and message, placed by the
    field the code is about (``fields``: code → field), else at the top of the form."""
    where = fields.get(exc.code, default)
    return {where: {"code": exc.code, "message": exc.message(lang)}}
