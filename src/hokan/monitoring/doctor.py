"""``hokan doctor``: the production checklist (docs/operations/production.md), checked
against a running installation from its own settings.

Each check answers ``ok``, ``warn`` (works, but not as the reference layout wants),
``fail`` (a security property of the layout is missing) or ``skip`` (does not apply,
e.g. TLS to an embedded SQLite file). Nothing here changes anything; secrets never
appear in the output (URLs are shown without their passwords).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from hokan.kit.clock import utcnow
from hokan.models import ClockCheck
from hokan.settings import Environment, Settings

Status = Literal["ok", "warn", "fail", "skip"]
_LOOPBACK = ("localhost", "127.0.0.1", "::1", "")
CLOCK_CHECK_MAX_AGE = timedelta(days=8)  # weekly, plus a day


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    ja: str
    en: str

    def as_json(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "ja": self.ja, "en": self.en}


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _loopback(host: str | None) -> bool:
    return (host or "") in _LOOPBACK or (host or "").startswith(("127.", "/"))


@dataclass(frozen=True)
class _PgFacts:
    user: str
    ssl: bool
    superuser: bool
    bypassrls: bool
    owns_tables: int


_FACTS = text(
    "SELECT current_user, "
    "COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false), "
    "r.rolsuper, r.rolbypassrls, "
    "(SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
    " AND tableowner = current_user) "
    "FROM pg_roles r WHERE r.rolname = current_user"
)


def _pg_facts(url: str) -> _PgFacts:
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            row = conn.execute(_FACTS).one()
        return _PgFacts(str(row[0]), bool(row[1]), bool(row[2]), bool(row[3]), int(row[4]))
    finally:
        engine.dispose()


def _sqlite_reachable(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def _database(name: str, url: str, *, service: bool) -> Iterator[Finding]:
    """Reachable, TLS off loopback, and (the service's own role) neither superuser nor
    BYPASSRLS nor the tables' owner."""
    parsed = make_url(url)
    where = _shown(url)
    if parsed.get_backend_name() == "sqlite":
        try:
            _sqlite_reachable(url)
        except Exception as exc:
            yield Finding(
                f"{name}.reachable",
                "fail",
                f"開けません: {where}",
                f"cannot open {where}: {type(exc).__name__}",
            )
            return
        yield Finding(f"{name}.reachable", "ok", f"SQLite ファイル {where}", f"SQLite file {where}")
        yield Finding(
            f"{name}.tls",
            "skip",
            "組み込み SQLite (ネットワークなし)",
            "embedded SQLite (no network)",
        )
        return
    try:
        facts = _pg_facts(url)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:160]
        yield Finding(
            f"{name}.reachable",
            "fail",
            f"接続できません: {where}: {reason}",
            f"unreachable: {where}: {reason}",
        )
        return
    yield Finding(
        f"{name}.reachable",
        "ok",
        f"{where} (ユーザー {facts.user})",
        f"{where} (user {facts.user})",
    )
    if facts.ssl:
        yield Finding(f"{name}.tls", "ok", "TLS で接続しています", "connected over TLS")
    elif _loopback(parsed.host):
        yield Finding(f"{name}.tls", "warn", "TLS なし (ループバック)", "no TLS (loopback only)")
    else:
        yield Finding(
            f"{name}.tls",
            "fail",
            "TLS なしでネットワーク越しに接続しています (sslmode=verify-full を指定)",
            "no TLS over the network (set sslmode=verify-full)",
        )
    if not service:
        return
    if facts.superuser or facts.bypassrls:
        yield Finding(
            f"{name}.role",
            "fail",
            f"ロール {facts.user} はスーパーユーザーか BYPASSRLS: 行レベルセキュリティが効きません",
            f"role {facts.user} is superuser or BYPASSRLS: row-level security does not apply",
        )
    elif facts.owns_tables:
        yield Finding(
            f"{name}.role",
            "warn",
            f"ロール {facts.user} がテーブルの所有者です (移行は所有者、サービスは別ロールで)",
            f"role {facts.user} owns the tables (migrate as the owner, serve as another role)",
        )
    else:
        yield Finding(
            f"{name}.role",
            "ok",
            f"ロール {facts.user}: スーパーユーザーでも BYPASSRLS でも所有者でもありません",
            f"role {facts.user}: not superuser, not BYPASSRLS, not the owner",
        )


def _user_and_database(url: str) -> tuple[str, str, str]:
    parsed = make_url(url)
    return (
        parsed.username or "",
        f"{parsed.host or ''}:{parsed.port or ''}",
        parsed.database or "",
    )


def _separation(settings: Settings) -> Iterator[Finding]:
    """The keyring and every vault store in a database of its own, with its own user."""
    system = settings.resolved_database_url
    keyring = settings.resolved_keyring_url
    stores = settings.resolved_vault_store_urls
    places = [_user_and_database(u)[1:] for u in (system, keyring, *stores)]
    if len(set(places)) == len(places):
        yield Finding(
            "keyring.separate",
            "ok",
            "鍵束と各分散保管先はそれぞれ別のデータベースです",
            "the keyring and each vault store are databases of their own",
        )
    else:
        yield Finding(
            "keyring.separate",
            "fail",
            "鍵束・分散保管先のデータベースが重複しています",
            "the keyring or vault stores share a database",
        )
    if any(make_url(u).get_backend_name() == "sqlite" for u in (keyring, *stores)):
        yield Finding(
            "vault.store_users",
            "skip",
            "組み込み SQLite (データベースユーザーなし)",
            "embedded SQLite (no database users)",
        )
        return
    users = [_user_and_database(u)[0] for u in (system, keyring, *stores)]
    if len(set(users)) == len(users):
        yield Finding(
            "vault.store_users",
            "ok",
            "システム・鍵束・各保管先は別々のユーザーで接続しています",
            "system, keyring and each store connect as users of their own",
        )
    else:
        yield Finding(
            "vault.store_users",
            "fail",
            "システム・鍵束・保管先でユーザーを共有しています (一つの漏えいで全部が読めます)",
            "system, keyring or stores share a user (one leak reads them all)",
        )


def _redis(settings: Settings) -> Iterator[Finding]:
    url = settings.redis_url
    if not url:
        status: Status = "fail" if settings.env is Environment.production else "warn"
        yield Finding(
            "redis.configured",
            status,
            "HOKAN_REDIS_URL が空です: ロックアウトや IPS の計数がプロセスごとに分かれます",
            "HOKAN_REDIS_URL is empty: lockout and IPS counts are per process",
        )
        return
    import redis

    parsed = make_url(url.replace("rediss://", "redis+tls://", 1)) if "://" in url else None
    host = parsed.host if parsed is not None else ""
    try:
        redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3).ping()
        yield Finding("redis.configured", "ok", "Redis に接続できます", "Redis answers")
    except Exception as exc:
        yield Finding(
            "redis.configured",
            "fail",
            f"Redis に接続できません: {type(exc).__name__}",
            f"Redis is unreachable: {type(exc).__name__}",
        )
    if url.startswith("rediss://"):
        yield Finding("redis.tls", "ok", "TLS (rediss://)", "TLS (rediss://)")
    elif _loopback(host):
        yield Finding("redis.tls", "warn", "TLS なし (ループバック)", "no TLS (loopback only)")
    else:
        yield Finding(
            "redis.tls",
            "fail",
            "TLS なしでネットワーク越しに接続しています (rediss:// を使用)",
            "no TLS over the network (use rediss://)",
        )


def _master_key(settings: Settings) -> Iterator[Finding]:
    path = settings.master_key_file
    if path is None and settings.master_key is not None:
        yield Finding(
            "master_key.source",
            "warn",
            "マスター鍵が環境変数 HOKAN_MASTER_KEY にあります (プロセスの環境から読めます)。"
            "HOKAN_MASTER_KEY_FILE を推奨",
            "the master key is in HOKAN_MASTER_KEY (readable from the process environment); "
            "prefer HOKAN_MASTER_KEY_FILE",
        )
        return
    if path is None:
        yield Finding(
            "master_key.source",
            "fail",
            "マスター鍵の置き場所が指定されていません (データディレクトリ内に生成されます)",
            "no master key source set (one is generated inside the data directory)",
        )
        return
    data_dir = settings.data_dir.resolve()
    resolved = path.resolve()
    if resolved.is_relative_to(data_dir):
        yield Finding(
            "master_key.source",
            "fail",
            "マスター鍵がデータディレクトリの中にあります",
            "the master key file is inside the data directory",
        )
        return
    try:
        mode = stat.S_IMODE(resolved.stat().st_mode)
    except OSError:
        yield Finding(
            "master_key.source",
            "fail",
            f"マスター鍵ファイルを読めません: {resolved}",
            f"cannot read the master key file {resolved}",
        )
        return
    if mode & 0o077:
        yield Finding(
            "master_key.source",
            "fail",
            f"マスター鍵ファイルを他のユーザーも読めます (mode {mode:o}, 0400 に)",
            f"others may read the master key file (mode {mode:o}; make it 0400)",
        )
        return
    yield Finding(
        "master_key.source",
        "ok",
        f"ファイル {resolved} (mode {mode:o})",
        f"file {resolved} (mode {mode:o})",
    )


def _backups(settings: Settings) -> Iterator[Finding]:
    local = settings.resolved_backup_local_dir.resolve()
    data_dir = settings.data_dir.resolve()
    if local.is_relative_to(data_dir):
        yield Finding(
            "backup.local",
            "fail",
            "ローカルのバックアップ先がデータディレクトリの中です",
            "the local backup target is inside the data directory",
        )
    elif not local.is_dir() or not os.access(local, os.W_OK):
        yield Finding(
            "backup.local",
            "fail",
            f"ローカルのバックアップ先に書き込めません: {local}",
            f"cannot write the local backup target {local}",
        )
    elif settings.backup_local_dir is None:
        yield Finding(
            "backup.local",
            "warn",
            f"既定の場所 {local} (別ボリュームを HOKAN_BACKUP_LOCAL_DIR に)",
            f"default place {local} (set HOKAN_BACKUP_LOCAL_DIR on another volume)",
        )
    else:
        yield Finding("backup.local", "ok", str(local), str(local))
    if settings.backup_remote_url.startswith("s3://"):
        yield Finding(
            "backup.remote",
            "ok",
            f"S3 {settings.backup_remote_url}",
            f"S3 {settings.backup_remote_url}",
        )
    else:
        yield Finding(
            "backup.remote",
            "warn",
            "遠隔のバックアップ先がフォルダです (HOKAN_BACKUP_REMOTE_URL=s3://…)",
            "the remote backup target is a folder (set HOKAN_BACKUP_REMOTE_URL=s3://…)",
        )


def _clock(settings: Settings) -> Iterator[Finding]:
    engine = create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT set_config('hokan.scope', 'system', true)"))
            latest = conn.execute(
                select(ClockCheck.checked_at, ClockCheck.result)
                .where(ClockCheck.chosen.is_(True))
                .order_by(ClockCheck.checked_at.desc())
                .limit(1)
            ).one_or_none()
    except Exception as exc:
        yield Finding(
            "clock",
            "fail",
            f"時刻確認の記録を読めません: {type(exc).__name__}",
            f"cannot read the clock checks: {type(exc).__name__}",
        )
        return
    finally:
        engine.dispose()
    if latest is None:
        yield Finding(
            "clock",
            "warn",
            "時刻確認の記録がありません (hokan clock check)",
            "no clock check recorded yet (run 'hokan clock check')",
        )
    elif utcnow() - latest.checked_at > CLOCK_CHECK_MAX_AGE:
        yield Finding(
            "clock",
            "warn",
            f"最後の時刻確認が古いです ({latest.checked_at:%Y-%m-%d})",
            f"the last clock check is old ({latest.checked_at:%Y-%m-%d})",
        )
    elif latest.result != "ok":
        yield Finding(
            "clock",
            "fail",
            f"最後の時刻確認の結果: {latest.result}",
            f"last clock check: {latest.result}",
        )
    else:
        yield Finding(
            "clock",
            "ok",
            f"{latest.checked_at:%Y-%m-%d %H:%M} UTC に確認済み",
            f"checked {latest.checked_at:%Y-%m-%d %H:%M} UTC",
        )


def _environment(settings: Settings) -> Iterator[Finding]:
    if settings.env is Environment.production:
        yield Finding("env", "ok", "HOKAN_ENV=production", "HOKAN_ENV=production")
    else:
        yield Finding(
            "env",
            "warn",
            f"HOKAN_ENV={settings.env.value} (本番は production)",
            f"HOKAN_ENV={settings.env.value} (production wants production)",
        )


def _smtp(settings: Settings) -> Iterator[Finding]:
    url = settings.smtp_url
    if not url:
        yield Finding(
            "smtp",
            "warn",
            "HOKAN_SMTP_URL が空です (通知はファイルに書かれます)",
            "HOKAN_SMTP_URL is empty (notices go to files)",
        )
    elif url.startswith(("smtps://", "smtp+starttls://")) or _loopback(
        make_url(url.replace("smtp://", "smtp+plain://", 1)).host
    ):
        yield Finding("smtp", "ok", "TLS またはループバック", "TLS or loopback")
    else:
        yield Finding("smtp", "warn", "SMTP を TLS なしで使っています", "SMTP without TLS")


CHECKS: tuple[Callable[[Settings], Iterator[Finding]], ...] = (
    _environment,
    lambda s: _database("database", s.resolved_database_url, service=True),
    lambda s: _database("keyring", s.resolved_keyring_url, service=False),
    *(
        lambda s, i=i: (
            _database(f"vault.store{i + 1}", s.resolved_vault_store_urls[i], service=False)
            if i < len(s.resolved_vault_store_urls)
            else iter(())
        )
        for i in range(8)
    ),
    _separation,
    _redis,
    _master_key,
    _backups,
    _clock,
    _smtp,
)


def run(settings: Settings) -> list[Finding]:
    """Every check of the checklist, in order."""
    found: list[Finding] = []
    for check in CHECKS:
        found.extend(check(settings))
    return found


def worst(findings: list[Finding]) -> Status:
    order: dict[str, int] = {"skip": 0, "ok": 0, "warn": 1, "fail": 2}
    top: Any = max(findings, key=lambda f: order[f.status], default=None)
    return "ok" if top is None or top.status == "skip" else top.status
