"""Rendering a console page: one Jinja environment (autoescaped), the request's
language, CSP nonce and CSRF token, the signed-in principal and the service
banner (incidents and maintenance, read from the status page's state)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hokan.console import i18n
from hokan.console.guard import csrf_token, is_operator_path
from hokan.httpkit.headers import csp_nonce
from hokan.kit.clock import to_jst, utcnow
from hokan.principals import Principal, Scope

WEB = Path(__file__).resolve().parent.parent / "web"
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"
STATIC_URL = "/console/static"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _jst(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return to_jst(value).strftime(fmt) if value else ""


_env.filters["jst"] = _jst


def nav(principal: Principal | None, operator: bool) -> list[tuple[str, str]]:
    """(path, Japanese label) of the pages this principal may open."""
    if operator:
        return [
            ("/console/ops", "運用ダッシュボード"),
            ("/console/ops/incidents", "障害"),
            ("/console/ops/maintenance", "メンテナンス"),
            ("/console/ops/findings", "監査所見"),
            ("/console/ops/jobs", "ジョブ"),
            ("/console/ops/ips", "IPS"),
        ]
    if principal is None:
        return []
    items = [("/console", "ダッシュボード")]
    if principal.has_scope(Scope.users_manage):
        items += [("/console/users", "ユーザー"), ("/console/terminals", "端末証明書")]
    if principal.has_scope(Scope.grants_manage):
        items.append(("/console/grants", "運用者の同意"))
    if principal.has_scope(Scope.vault_read):
        items.append(("/console/mynumber", "マイナンバー"))
    if principal.has_scope(Scope.audit_read):
        items.append(("/console/audit", "操作ログ"))
    items.append(("/console/activity", "自分の操作"))
    return items


def banner(request: Request) -> str | None:
    """'incident' or 'maintenance' while the status page shows one (UI-3)."""
    state = getattr(request.app.state, "service_state", None)
    if state is None:
        return None
    try:  # read at most once a second per process (the gate's own cache)
        snap = state.snapshot()
    except Exception:  # the banner never takes a page down with it
        return None
    if snap.outages:
        return "incident"
    if any(w.running(utcnow()) for w in snap.windows):
        return "maintenance"
    return None


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    lang = i18n.language(request)
    operator = is_operator_path(request.url.path)
    principal: Principal | None = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "_": i18n.gettext(lang),
        "lang": lang,
        "other_lang": "en" if lang == "ja" else "ja",
        "nonce": csp_nonce(request),
        "csrf": csrf_token(request),
        "principal": principal,
        "operator": operator,
        "nav": nav(principal, operator),
        "path": request.url.path,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "static": STATIC_URL,
        "banner": banner(request),
        "errors": {},
        "values": {},
    }
    ctx.update(context or {})
    html = _env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
