"""What the prober watches, and which functions of the service each component carries.

An incident's class follows from this map: a component whose failure makes the
whole service unusable opens a **full** outage (完全停止); any other, a **partial**
outage (部分停止) of the functions it carries. Vault fragment stores count together:
the vault is partially down (writes refused) below n good stores, and its reads too
below k.
"""

from __future__ import annotations

from dataclasses import dataclass

FULL, PARTIAL = "full", "partial"

# Functions, as users would name them (status page, notices).
FUNCTIONS: dict[str, tuple[str, str]] = {
    "api": ("API 全体", "the whole API"),
    "login": ("ログイン", "login"),
    "records": ("データの保存・参照", "records"),
    "vault_read": ("個人番号の参照", "My Number reads"),
    "vault_write": ("個人番号の登録・削除", "My Number registration and deletion"),
    "attachments": ("添付ファイル", "attachments"),
    "notifications": ("通知メール", "notice mail"),
    "backups": ("バックアップ", "backups"),
}


@dataclass(frozen=True)
class Component:
    name: str
    label_ja: str
    label_en: str
    functions: tuple[str, ...]
    outage: str  # FULL or PARTIAL when this component is down


API = Component("api", "API", "API", ("api",), FULL)
SYSTEM_DB = Component("system_db", "システムデータベース", "system database", ("api",), FULL)
KEYRING_DB = Component("keyring_db", "鍵データベース", "keyring database", ("api",), FULL)
BLOB_STORE = Component("blob_store", "ファイル保管", "blob store", ("attachments",), PARTIAL)
REDIS = Component("redis", "Redis", "Redis", ("login",), PARTIAL)  # lockout fails closed
SMTP = Component("smtp", "メール送信", "mail server", ("notifications",), PARTIAL)
VAULT = Component("vault", "個人番号保管庫", "My Number vault", ("vault_write",), PARTIAL)


def vault_store(index: int) -> Component:
    """One fragment store: its own ledger line; the vault's state is judged over all of them."""
    return Component(
        f"vault_store_{index}",
        f"個人番号保管庫 ストア{index}",
        f"vault store {index}",
        ("vault_write",),
        PARTIAL,
    )


def backup_target(name: str) -> Component:
    return Component(
        f"backup_{name}", f"バックアップ先 {name}", f"backup target {name}", ("backups",), PARTIAL
    )
