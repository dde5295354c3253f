"""My Number register for clerks (MYN-2..6, UI-1): the masked list, registering with the
check digit checked as you type (and again on the server when saved), revealing for a
stated purpose (audited by the vault service), identity documents in and out.

Every route takes the vault's own dependencies (``VaultReader``/``VaultWriter``) and
is named after the API route's action, so a refused attempt is on the record of use
under the same name as the API's.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from markupsafe import escape
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, Response

from hokan.console import forms, i18n
from hokan.console.guard import ConsoleRoute, form_csrf
from hokan.console.pages import render
from hokan.httpkit.body import body_limit
from hokan.httpkit.waf_marks import EVERY_FAMILY, waf_exclude
from hokan.kit.errors import HokanError
from hokan.vault import numbers
from hokan.vault.dependencies import VaultReader, VaultWriter
from hokan.vault.service import VaultService
from hokan.vault.views import EntryView, RecordLink

router = APIRouter(
    prefix="/console/mynumber",
    route_class=ConsoleRoute,
    include_in_schema=False,
    dependencies=[Depends(form_csrf)],
)
_NO_STORE = {"cache-control": "no-store"}
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
PURPOSES = {"social_security": "社会保障", "tax": "税", "disaster": "災害対策"}
KIND_LABELS = {"individual": "個人番号", "corporate": "法人番号", "document": "本人確認書類"}
NUMBER_FIELDS = {
    "number_malformed": "number",
    "number_check_digit_mismatch": "number",
    "number_not_issuable": "number",
    "vault_entry_exists": "number",
    "invalid_record_link": "record_id",
    "linked_record_not_found": "record_id",
}
DOCUMENT_FIELDS = {
    "unsupported_document_type": "document",
    "document_too_large": "document",
    "malware_detected": "document",
    "invalid_record_link": "doc_record_id",
    "linked_record_not_found": "doc_record_id",
}


def _view(v: EntryView) -> dict[str, Any]:
    return {
        "id": str(v.id),
        "kind": v.kind.value,
        "collection": v.collection,
        "record_id": v.record_id,
        "masked": v.masked,
        "content_type": v.content_type,
        "size": v.size,
        "created_at": v.created_at,
        "delete_after": v.delete_after,
    }


async def _page(
    request: Request, work: Any, *, cursor: str | None = None, status: int = 200, **extra: Any
) -> Response:
    vault = work.resolve(VaultService)
    page = await work(lambda s: vault.list_entries(s, work.principal, limit=50, cursor=cursor))
    context = {
        "entries": [_view(v) for v in page.items],
        "next_cursor": page.next_cursor,
        "purposes": PURPOSES,
        "kinds": KIND_LABELS,
        **extra,
    }
    response = render(request, "console/mynumber.html", context, status=status)
    response.headers.update(_NO_STORE)
    return response


@router.get("", name="vault.number.list")
async def register_page(
    request: Request,
    work: VaultReader,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    return await _page(request, work, cursor=cursor)


@router.post("/check", name="vault.number.check")
@waf_exclude(*EVERY_FAMILY, fields=["form.number"], reason="digits, checked and never echoed")
async def check_number(request: Request, work: VaultWriter) -> Response:
    """The check digit as you type (htmx): a short verdict, never the number itself.
    Nothing is stored or audited; saving validates again."""
    form = await request.form()
    raw = forms.text(form, "number", 64)
    corporate = forms.text(form, "kind") == "corporate"
    kind = numbers.NumberKind.corporate if corporate else numbers.NumberKind.individual
    _ = i18n.gettext(i18n.language(request))
    digits = "".join(c for c in raw if c.isdigit())
    if len(digits) < numbers.LENGTHS[kind]:
        return HTMLResponse("", headers=_NO_STORE)  # still typing
    try:
        numbers.validate(raw, kind)
    except HokanError as exc:
        message = escape(exc.message(i18n.language(request)))
        html = f'<span class="error"><span class="code">{exc.code}</span> {message}</span>'
        return HTMLResponse(html, headers=_NO_STORE)
    verdict = escape(_("チェックディジットは正しいです。"))
    return HTMLResponse(f'<span class="ok">✓ {verdict}</span>', headers=_NO_STORE)


@router.post("", name="vault.number.register")
@waf_exclude(*EVERY_FAMILY, fields=["form.number"], reason="digits, checked and never echoed")
async def register_number(request: Request, work: VaultWriter) -> Response:
    form = await request.form()
    vault = work.resolve(VaultService)
    corporate = forms.text(form, "kind") == "corporate"
    kind = numbers.NumberKind.corporate if corporate else numbers.NumberKind.individual
    raw = forms.text(form, "number", 64)
    collection = forms.text(form, "collection", 64) or "staff"
    record_id = forms.text(form, "record_id", 200)
    try:
        link = RecordLink(collection, record_id)
        view = await work(lambda s: vault.register_number(s, work.principal, raw, kind, link))
    except HokanError as exc:
        # The number is never put back in the page: the clerk types it again.
        return await _page(
            request,
            work,
            status=exc.status,
            errors=forms.field_errors(exc, i18n.language(request), NUMBER_FIELDS),
            values=forms.values(form, "collection", "record_id", "kind"),
        )
    return await _page(request, work, status=201, registered=_view(view))


@router.post("/{entry_id}/reveal", name="vault.number.reveal")
async def reveal(request: Request, entry_id: uuid.UUID, work: VaultReader) -> Response:
    """The full number, once, for the purpose chosen in the dialog (audited)."""
    form = await request.form()
    purpose = forms.text(form, "purpose", 40)
    vault = work.resolve(VaultService)
    view, digits = await work(lambda s: vault.reveal(s, work.principal, entry_id, purpose))
    return await _page(
        request, work, revealed={"entry": _view(view), "number": digits, "purpose": purpose}
    )


@router.post("/documents", name="vault.document.register")
@body_limit("vault_max_document_bytes")
async def register_document(request: Request, work: VaultWriter) -> Response:
    form = await request.form()
    vault = work.resolve(VaultService)
    upload = form.get("document")
    limit = vault.max_document_bytes
    data = None
    if isinstance(upload, UploadFile):
        data = await upload.read(limit + 1)
        if len(data) > limit:
            data = None  # refused (and audited) by the service
    record_id = forms.text(form, "doc_record_id", 200)
    try:
        link = RecordLink("staff", record_id)
        view = await work(lambda s: vault.register_document(s, work.principal, data, link))
    except HokanError as exc:
        return await _page(
            request,
            work,
            status=exc.status,
            errors=forms.field_errors(exc, i18n.language(request), DOCUMENT_FIELDS),
            values=forms.values(form, "doc_record_id"),
        )
    return await _page(request, work, status=201, uploaded=_view(view))


@router.post("/{entry_id}/download", name="vault.document.download")
async def download(request: Request, entry_id: uuid.UUID, work: VaultReader) -> Response:
    form = await request.form()
    purpose = forms.text(form, "purpose", 40)
    vault = work.resolve(VaultService)
    view, data = await work(lambda s: vault.download(s, work.principal, entry_id, purpose))
    content_type = view.content_type or "application/octet-stream"
    name = f"{view.id}.{_EXTENSIONS.get(content_type, 'bin')}"
    return Response(
        data,
        media_type=content_type,
        headers={**_NO_STORE, "content-disposition": f'attachment; filename="{name}"'},
    )
