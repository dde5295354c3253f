from __future__ import annotations

from hokan.kit.errors import Conflict, Forbidden, HokanError, InvalidPayload, NotFound


class CaMissing(Conflict):
    code = "ca_not_initialised"
    message_ja = "端末証明書の認証局 (CA) がまだ作成されていません (hokan cert ca init)。"
    message_en = "The terminal-certificate CA is not initialised (hokan cert ca init)."


class CaExists(Conflict):
    code = "ca_exists"
    message_ja = "認証局 (CA) はすでに作成されています。"
    message_en = "The CA already exists."


class CertificateNotFound(NotFound):
    code = "certificate_not_found"
    message_ja = "端末証明書が見つかりません。"
    message_en = "Terminal certificate not found."


class CertificateAlreadyRevoked(Conflict):
    code = "certificate_already_revoked"
    message_ja = "この端末証明書はすでに失効しています。"
    message_en = "This terminal certificate is already revoked."


class InvalidTerminalName(InvalidPayload):
    code = "invalid_terminal_name"
    message_ja = "端末名が正しくありません (1〜64文字、制御文字なし)。"
    message_en = "The terminal name is invalid (1-64 characters, no control characters)."


# Refusals at the edge: the request carries no usable terminal certificate.


class CertificateRequired(Forbidden):
    code = "certificate_required"
    message_ja = "この接続には Hokan が発行した端末証明書が必要です。"
    message_en = "A terminal certificate issued by Hokan is required."


class CertificateUnknown(Forbidden):
    code = "certificate_unknown"
    message_ja = "この端末証明書は Hokan が発行したものではありません。"
    message_en = "This terminal certificate was not issued by Hokan."


class CertificateRevoked(Forbidden):
    code = "certificate_revoked"
    message_ja = "この端末証明書は失効しています。"
    message_en = "This terminal certificate has been revoked."


class CertificateExpired(Forbidden):
    code = "certificate_expired"
    message_ja = "この端末証明書は有効期間外です。"
    message_en = "This terminal certificate is outside its validity period."


class CertificateTenantMismatch(Forbidden):
    code = "certificate_tenant_mismatch"
    message_ja = "この端末証明書は別のテナントのものです。"
    message_en = "This terminal certificate belongs to another tenant."


class CrlReloadFailed(HokanError):
    """The CRL was written but HOKAN_CRL_RELOAD_COMMAND failed (the front may serve the old one)."""

    code = "crl_reload_failed"
    message_ja = (
        "CRL を書き出しましたが、再読み込みコマンド (HOKAN_CRL_RELOAD_COMMAND) が失敗しました。"
    )
    message_en = "The CRL was written but HOKAN_CRL_RELOAD_COMMAND failed."
