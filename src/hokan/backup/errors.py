"""The backup domain's refusals: one stable code per way a generation can be bad or a run
can fail. Each names the generation (and the file and chunk where there is one)."""

from __future__ import annotations

from hokan.kit.errors import HokanError, because

_WHERE = because(
    chunk=(
        "世代 {generation} のファイル {file} のチャンク {chunk}",
        "generation {generation}, file {file}, chunk {chunk}",
    ),
    file=("世代 {generation} のファイル {file}", "generation {generation}, file {file}"),
    generation=("世代 {generation}", "generation {generation}"),
)


class BackupError(HokanError):
    """Base of the backup errors (an integrity failure is a 409: the bytes disagree)."""

    status = 409
    code = "backup_failed"
    message_ja = "バックアップの処理に失敗しました。"
    message_en = "The backup operation failed."
    reasons = _WHERE


class ChunkTampered(BackupError):
    code = "backup_chunk_tampered"
    message_ja = "バックアップのチャンクが改ざんされているか壊れています。"
    message_en = "A backup chunk was altered or is corrupt."


class ChunkMissing(BackupError):
    code = "backup_chunk_missing"
    message_ja = "バックアップのチャンクが欠けています。"
    message_en = "A backup chunk is missing."


class ChunkReordered(BackupError):
    code = "backup_chunk_reordered"
    message_ja = "バックアップのチャンクの順序が入れ替わっています。"
    message_en = "Backup chunks are out of order."


class ChunkForeign(BackupError):
    code = "backup_chunk_foreign"
    message_ja = "別の世代のチャンクが混入しています。"
    message_en = "A chunk of another generation was put into this one."


class Truncated(BackupError):
    code = "backup_truncated"
    message_ja = "バックアップのファイルが途中で切れています。"
    message_en = "A backup file is truncated."


class TrailingData(BackupError):
    code = "backup_trailing_data"
    message_ja = "バックアップのファイルの最終チャンクの後にデータがあります。"
    message_en = "A backup file has data after its final chunk."


class WrongKey(BackupError):
    code = "backup_wrong_key"
    message_ja = (
        "この鍵ではバックアップを復号できません (マスター鍵またはバックアップ鍵が違います)。"
    )
    message_en = "The backup does not open under this key (wrong master or backup key)."


class ManifestInvalid(BackupError):
    code = "backup_manifest_invalid"
    message_ja = "バックアップのマニフェストの署名が一致しないか、読めません。"
    message_en = "The backup manifest's signature does not match, or it cannot be read."


class FileMissing(BackupError):
    code = "backup_file_missing"
    message_ja = "バックアップのファイルがありません。"
    message_en = "A backup file is missing."


class SizeMismatch(BackupError):
    code = "backup_size_mismatch"
    message_ja = "バックアップのファイルの大きさがマニフェストと一致しません。"
    message_en = "A backup file's size differs from its manifest."


class ChecksumMismatch(BackupError):
    code = "backup_checksum_mismatch"
    message_ja = "バックアップのファイルのチェックサムがマニフェストと一致しません。"
    message_en = "A backup file's checksum differs from its manifest."


class GenerationNotFound(BackupError):
    status = 404
    code = "backup_generation_not_found"
    message_ja = "その世代のバックアップはありません。"
    message_en = "No backup generation by that name."


class BackupRunning(BackupError):
    code = "backup_running"
    message_ja = "別のバックアップが実行中です。終わってからやり直してください。"
    message_en = "Another backup is running on this target; try again when it ends."
    reasons = because(
        target=("バックアップ先: {target}", "Target: {target}."),
    )


class TargetUnavailable(BackupError):
    status = 503
    code = "backup_target_unavailable"
    message_ja = "バックアップ先に書き込めないか、接続できません。"
    message_en = "The backup target cannot be reached or written."
    dependency = "backup"
    reasons = because(
        target=("バックアップ先: {target} ({cause})", "Target: {target} ({cause})."),
        inside_data_dir=(
            "バックアップ先 {target} がデータディレクトリの中にあります "
            "(別の場所を指定してください)。",
            "Target {target} lies inside the data directory (name another volume).",
        ),
    )


class TargetFull(TargetUnavailable):
    status = 507
    code = "backup_target_full"
    message_ja = "バックアップ先の容量が足りません。途中の世代は削除しました。"
    message_en = "The backup target is full; the partial generation was removed."


class SnapshotFailed(BackupError):
    status = 503
    code = "backup_snapshot_failed"
    message_ja = "データベースのスナップショットを取得できませんでした。"
    message_en = "The database snapshot could not be taken."
    reasons = because(
        tool=(
            "{tool} が終了コード {status} で失敗しました。",
            "{tool} failed with status {status}.",
        ),
        unconfigured=(
            "PostgreSQL では HOKAN_BACKUP_DATABASE_URL (行レベルセキュリティを迂回できるロール) "
            "が必要です。",
            "On PostgreSQL, HOKAN_BACKUP_DATABASE_URL (a role that bypasses row-level "
            "security) is needed.",
        ),
    )


class RestoreRefused(BackupError):
    status = 400
    code = "backup_restore_refused"
    message_ja = "復元先が不適切です。"
    message_en = "The restore destination is not acceptable."
    reasons = because(
        not_empty=(
            "{path} は空ではありません (新しいディレクトリを指定してください)。",
            "{path} is not empty (name a new directory).",
        ),
        postgresql=(
            "世代 {generation} は PostgreSQL のダンプです: --to-database-url を指定してください。",
            "Generation {generation} holds a PostgreSQL dump: give --to-database-url.",
        ),
        tenant_needed=(
            "テナント単位の復元にはテナントの指定が必要です。",
            "A single-tenant restore needs a tenant.",
        ),
        engine=(
            "{file} は復元先と別のデータベース種別です (SQLite と PostgreSQL)。",
            "{file} was taken from another database engine than the destination's.",
        ),
        vault=(
            "保管庫ストア {store} の復元先がありません (--to-vault-url を指定してください)。",
            "No destination for vault store {store} (give --to-vault-url).",
        ),
        tenant_unknown=(
            "テナント {tenant} はこのサービスにありません。",
            "Tenant {tenant} does not exist in this service.",
        ),
        tenant_absent=(
            "世代 {generation} にテナント {tenant} の行はありません。",
            "Generation {generation} holds no rows of tenant {tenant}.",
        ),
        tenant_keys=(
            "テナント {tenant} の鍵 (版 {versions}) がこの鍵束にありません "
            "(破棄済みの鍵で暗号化されたデータは復元できません)。",
            "Tenant {tenant}'s keys (versions {versions}) are not in this keyring "
            "(data sealed under destroyed keys cannot be restored).",
        ),
        master_key=(
            "世代 {generation} は別のマスター鍵 ({expected}) で作られています。",
            "Generation {generation} was made under another master key ({expected}).",
        ),
        nothing=(
            "{target} に復元できる世代がありません。",
            "No generation to restore on {target}.",
        ),
        confirm=(
            "稼働中のデータを置き換えます: --yes を付けてください。",
            "This replaces live data: add --yes.",
        ),
    )


class UnknownClass(BackupError):
    status = 400
    code = "backup_unknown_class"
    message_ja = "バックアップの種類が不明です。"
    message_en = "Unknown backup class."
    reasons = because(
        known=("指定できる種類: {known}", "Known classes: {known}."),
    )


class VerifyFailed(BackupError):
    code = "backup_verify_failed"
    message_ja = "バックアップの検証で不合格の世代があります。"
    message_en = "Backup verification found bad generations."
    reasons = because(
        first=(
            "{failed} 世代が不合格です。最初: 世代 {generation} ({cause})",
            "{failed} generation(s) failed; first: {generation} ({cause}).",
        ),
    )


class InvalidPolicy(BackupError):
    status = 400
    code = "backup_invalid_policy"
    message_ja = "バックアップの保持規則 (HOKAN_BACKUP_POLICIES) が正しくありません。"
    message_en = "The backup retention policy (HOKAN_BACKUP_POLICIES) is not valid."
    reasons = because(
        setting=("{problem}", "{problem}"),
    )


class PruneFailed(BackupError):
    status = 503
    code = "backup_prune_failed"
    message_ja = "保持期間を過ぎた世代の一部を削除できませんでした。"
    message_en = "Some generations past their retention could not be removed."
    dependency = "backup"
    reasons = because(
        first=(
            "{failed} 世代を削除できませんでした。最初: {generation} ({target})",
            "{failed} generation(s) not removed; first: {generation} ({target}).",
        ),
    )


class DrillFailed(BackupError):
    code = "backup_drill_failed"
    message_ja = "復元訓練で不合格がありました。"
    message_en = "The restore drill failed a check."
    reasons = because(
        check=(
            "世代 {generation}: {check} の確認に失敗しました。",
            "Generation {generation}: the {check} check failed.",
        ),
    )


class RestoreRequestNotFound(BackupError):
    status = 404
    code = "backup_restore_request_not_found"
    message_ja = "その復元依頼はありません。"
    message_en = "No restore request by that id."


class BackupStale(BackupError):
    code = "backup_stale"
    message_ja = "夜間のバックアップが 2 晩以上取得されていません。"
    message_en = "No nightly backup was taken for two nights or more."
    reasons = because(
        newest=(
            "{klass} の最新の世代は {generation} です。",
            "The newest {klass} generation is {generation}.",
        ),
    )
