"""The lifecycle's refusals: each with a stable code a script can act on."""

from __future__ import annotations

from hokan.kit.errors import BadRequest, Conflict, HokanError, NotFound, because


class TenantNotTerminated(Conflict):
    code = "tenant_not_terminated"
    message_ja = "契約終了していないテナントのデータは消去できません。"
    message_en = "Only a terminated tenant's data can be disposed of."
    reasons = because(
        active=(
            "先に 'hokan tenant terminate {tenant}' で契約を終了してください。",
            "Terminate it first: 'hokan tenant terminate {tenant}'.",
        ),
        disposed=("このテナントは消去済みです。", "This tenant was already disposed of."),
    )


class GracePeriodRunning(Conflict):
    code = "grace_period_running"
    message_ja = "猶予期間中のため、まだ消去できません。"
    message_en = "The grace period has not ended yet."
    reasons = because(
        until=(
            "消去できるのは {until} (日本時間) 以降です。",
            "Disposal is possible from {until} (JST).",
        ),
    )


class LegalHold(Conflict):
    code = "tenant_legal_hold"
    message_ja = "このテナントには訴訟ホールド (法的保全) がかかっているため消去できません。"
    message_en = "The tenant is under legal hold: its data cannot be disposed of."
    reasons = because(
        held=("理由: {why}", "Reason: {why}."),
    )


class RestorePending(Conflict):
    code = "tenant_restore_pending"
    message_ja = "このテナントには未完了の復元依頼があるため消去できません。"
    message_en = "A restore for this tenant is pending: its data cannot be disposed of."
    reasons = because(
        pending=("依頼: {why}", "Request: {why}."),
    )


class ConfirmationMismatch(BadRequest):
    code = "confirmation_mismatch"
    message_ja = "確認のテナントコードが一致しません。"
    message_en = "The confirmation does not match the tenant code."
    reasons = because(
        expected=(
            "--confirm にはテナントコード {tenant} を指定してください。",
            "Pass the tenant code {tenant} to --confirm.",
        ),
    )


class AlreadyTerminated(Conflict):
    code = "tenant_already_terminated"
    message_ja = "このテナントは既に契約終了しています。"
    message_en = "The tenant is already terminated."


class DisposalIncomplete(HokanError):
    status = 500
    code = "disposal_verification_failed"
    message_ja = "消去後の検証で、テナントのデータが残っていることが分かりました。"
    message_en = "Verification after disposal found the tenant's data still present."
    reasons = because(
        found=("残っているもの: {what}", "Still present: {what}."),
    )


class DisposalNotFound(NotFound):
    code = "disposal_not_found"
    message_ja = "このテナントの消去記録がありません。"
    message_en = "There is no disposal record for this tenant."


class SetupLinkInvalid(BadRequest):
    code = "setup_link_invalid"
    message_ja = "パスワード設定リンクが無効です (使用済み、期限切れ、または誤り)。"
    message_en = "The password setup link is not valid (used, expired or wrong)."


class OnboardingFailed(HokanError):
    status = 500
    code = "onboarding_failed"
    message_ja = "テナントの開設に失敗しました。何も作成されていません。"
    message_en = "Onboarding failed; nothing was created."
    reasons = because(
        step=("失敗した手順: {step}", "Failed step: {step}."),
    )
