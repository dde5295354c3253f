from __future__ import annotations

from hokan.kit.errors import Conflict, Forbidden, InvalidPayload, NotFound, because


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
