from __future__ import annotations

from hokan.kit.errors import BadRequest, Conflict, Forbidden, InvalidPayload, NotFound, because


class TenantNotFound(NotFound):
    code = "tenant_not_found"
    message_ja = "テナントが見つかりません。"
    message_en = "Tenant not found."


class TenantCodeTaken(Conflict):
    code = "tenant_code_taken"
    message_ja = "このテナントコードは既に使われています。"
    message_en = "This tenant code is already in use."


class TenantInactive(Forbidden):
    code = "tenant_inactive"
    message_ja = "このテナントは現在利用できません (停止中または契約終了)。"
    message_en = "This tenant is not active (suspended or terminated)."


class InvalidTenantSettings(InvalidPayload):
    code = "invalid_tenant_settings"
    message_ja = "テナント設定が正しくありません。"
    message_en = "The tenant settings are not valid."
    reasons = because(
        invalid_fields=("正しくない項目: {fields}", "Invalid fields: {fields}."),
    )


class InvalidContact(BadRequest):
    code = "invalid_contact"
    message_ja = "連絡先が正しくありません。"
    message_en = "The contact is not valid."
    reasons = because(
        email=(
            "メールアドレスの形式が正しくありません (例: name@example.co.jp)。",
            "The e-mail address is not valid (e.g. name@example.co.jp).",
        ),
        role=("役割は次から選んでください: {allowed}", "Roles are one or more of: {allowed}."),
        language=("言語は ja か en です。", "The language is ja or en."),
        duplicate=(
            "このメールアドレスは別の連絡先で使われています。",
            "Another contact already has this address.",
        ),
    )


class TooManyContacts(Conflict):
    code = "too_many_contacts"
    message_ja = "連絡先が多すぎます。"
    message_en = "The tenant has too many contacts."
    reasons = because(
        cap=("連絡先は {limit} 件までです。", "A tenant has at most {limit} contacts."),
    )


class ContactNotFound(NotFound):
    code = "contact_not_found"
    message_ja = "連絡先が見つかりません。"
    message_en = "Contact not found."
