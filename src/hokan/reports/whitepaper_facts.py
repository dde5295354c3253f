"""The configured facts the whitepaper states (REP-3), each read from the setting or the
record that makes it true, and the sections that state them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hokan.audit import tasks as audit_tasks
from hokan.backup import retention
from hokan.backup import tasks as backup_tasks
from hokan.backup.policies import Policy, parse_policies, policy_for
from hokan.clock import tasks as clock_tasks
from hokan.kit.clock import to_jst
from hokan.models import NotificationDelivery, Tenant
from hokan.monitoring import tasks as monitoring_tasks
from hokan.reports import repository as repo
from hokan.reports import schedules
from hokan.reports import tasks as report_tasks
from hokan.reports.document import Cell, Section, Table
from hokan.settings import Settings
from hokan.tenants.schemas import TenantSettings

TARGET_JA = {"local": "同一センター内の別筐体", "remote": "本サービス環境とは別の遠隔地"}
CLASS_ROWS = (
    (retention.DAILY, "エクスプレスシリーズシステムデータ", "日次", backup_tasks.RUN_DAILY),
    (retention.UPGRADE, "エクスプレスシリーズシステムデータ", "バージョンアップ時", None),
    (retention.MAINTENANCE, "エクスプレスシリーズシステムデータ", "メンテナンス時", None),
    (retention.MONTHLY, "エクスプレスシリーズシステムデータ", "月次", backup_tasks.RUN_MONTHLY),
    (retention.VAULT, "マイナンバー・本人確認資料", "日次", backup_tasks.RUN_DAILY),
)
BUCKET_JA = {
    "last": "管理世代数",
    "hourly": "時間毎の世代数",
    "daily": "日毎の世代数",
    "weekly": "週毎の世代数",
    "monthly": "月毎の世代数",
    "yearly": "年毎の世代数",
}


def _policy(settings: Settings, klass: str) -> Policy | None:
    target = retention.DEFAULT_TARGET[klass]
    _, policy = policy_for(
        parse_policies(settings.backup_policies), retention.DEFAULT_POLICIES, target, klass
    )
    return policy


def _within_ja(text: str) -> str:
    units = {"y": "年", "m": "ヶ月", "w": "週間", "d": "日", "h": "時間"}
    out, number = "", ""
    for ch in text:
        if ch.isdigit():
            number += ch
        else:
            out += f"{number} {units.get(ch, ch)}"
            number = ""
    return out or text


def retention_ja(settings: Settings, klass: str) -> list[str]:
    """管理世代数 :7 世代 / 保持期限 :1 ヶ月 — what the class keeps, as configured."""
    policy = _policy(settings, klass)
    if policy is None or policy.empty:
        return ["管理世代数 :無期限 (保持規則なし)"]
    lines = []
    for bucket, label in BUCKET_JA.items():
        value = getattr(policy, bucket)
        if value:
            lines.append(f"{label} :{'無制限' if value == -1 else f'{value} 世代'}")
    if policy.within is not None:
        lines.append(f"保持期限 :{_within_ja(str(policy.within))}")
    if klass == retention.UPGRADE:
        lines.append("保持期限 :1 ヶ月 (作成時から)")
    if klass == retention.MAINTENANCE:
        lines.append("保持期限 :1 週間 (作成時から)")
    return lines


def lockout_ja(tenants: Sequence[Tenant]) -> str:
    d = TenantSettings()
    custom = 0
    for t in tenants:
        own = (t.settings or {}) if isinstance(t.settings, dict) else {}
        got = (
            own.get("lockout_threshold", d.lockout_threshold),
            own.get("lockout_minutes", d.lockout_minutes),
        )
        custom += got != (d.lockout_threshold, d.lockout_minutes)
    text = (
        f"ログインが {d.lockout_threshold} 回連続で失敗した場合、アカウントを "
        f"{d.lockout_minutes} 分間ロックします (既定値。お客様ごとに設定可能です"
    )
    return text + (f"。{custom} 社が個別に設定)" if custom else ")")


def collect(
    session: Session, settings: Settings, tenants: Sequence[Tenant], *, now: datetime
) -> dict[str, str]:
    """The facts the document states, flat, for the 変更履歴 of the next generation."""
    del now
    out = {
        "死活監視の間隔": f"{settings.monitor_interval_seconds} 秒",
        "計画停止予定通知": f"{settings.maintenance_notice_days} 日前",
        "稼働率の SLO": f"{settings.slo_percent}%",
        "運用レポート": schedules.said(settings, report_tasks.WEEKLY),
        "不正ログイン対策": lockout_ja(tenants),
        "接続できる国": settings.allowed_countries,
        "端末証明書": "必須" if settings.requires_client_cert else "任意",
        "WAF": waf_ja(settings),
        "IPS": ips_ja(settings),
    }
    out["復旧処理の所要時間"] = _rto_ja(session)[0]
    for klass, _, freq, _ in CLASS_ROWS:
        out[f"バックアップ ({klass}, {freq})"] = "、".join(retention_ja(settings, klass))
    return out


def waf_ja(settings: Settings) -> str:
    if not settings.waf_enabled:
        return "無効"
    mode = "遮断" if settings.waf_mode.value == "block" else "検知のみ"
    return (
        f"有効 ({mode}、パラノイアレベル {settings.waf_paranoia}、"
        f"異常スコア {settings.waf_threshold} 以上で遮断)"
    )


def ips_ja(settings: Settings) -> str:
    if not settings.ips_enabled:
        return "無効"
    return (
        f"有効 (送信元ごと {settings.ips_ip_requests} 件/{settings.ips_window_seconds} 秒、"
        f"WAF 遮断 {settings.ips_attack_blocks} 回で {settings.ips_ban_seconds} 秒遮断、"
        f"繰り返しは最長 {settings.ips_ban_max_seconds} 秒)"
    )


def reporting(settings: Settings) -> Section:
    rows: list[list[Cell]] = [
        [
            "環境保守",
            "バックアップ・死活監視・ハードウェアの健全性・ウイルス監視・不正アクセス監視・"
            "負荷分散の監視",
            schedules.said(settings, report_tasks.WEEKLY),
            "環境保守チーム",
            "運用レポート",
        ],
        [
            "内部監査",
            "監査者による操作ログの監査",
            schedules.said(settings, audit_tasks.DAILY_REVIEW),
            "監査者",
            "運用レポート",
        ],
        [
            "メンテナンス情報",
            "クロック同期 (日本標準時との確認)",
            schedules.said(settings, clock_tasks.CHECK),
            "運用責任者",
            "運用レポート",
        ],
        [
            "メンテナンス情報",
            "ユーザー様個別のメンテナンス予定日、停止時間",
            f"実施 {settings.maintenance_notice_days} 日前 (緊急を除く)",
            "運用責任者",
            "メール・本サービス",
        ],
        [
            "障害状況",
            "接続障害情報・障害復旧情報",
            "障害発生から 5 分以内",
            "障害対応チーム",
            f"ステータスページ ({settings.status_page_url})",
        ],
    ]
    return Section(
        "1-2-2",
        "1-2-2. サービスの運用状況報告",
        ["運用状況を運用レポートにて定期的に発信します (報告頻度は現在の設定値です)。"],
        [Table(["カテゴリ", "報告内容", "報告頻度", "報告組織", "報告方法"], rows)],
    )


def service_levels(settings: Settings) -> Section:
    rows: list[list[Cell]] = [
        ["サービス時間", "24時間365日 (計画停止/定期保守を除く)"],
        [
            "計画停止予定通知",
            f"{settings.maintenance_notice_days}日前にメール/本サービスにて通知 (緊急の場合は除く)",
        ],
        ["計画停止の長さ", f"1 回あたり最長 {settings.maintenance_max_hours} 時間"],
        ["サービス稼働率", f"SLO {settings.slo_percent}% (過去の稼働率は 1-3-2 を参照)"],
        ["ディザスタリカバリ", "日次バックアップデータにて復元 (詳細は 3-3 を参照)"],
    ]
    return Section(
        "1-3-1",
        "1-3-1. サービスレベル項目 (可用性)",
        tables=[Table(["サービスレベル項目", "本サービス"], rows)],
    )


def reliability(session: Session, settings: Settings) -> Section:
    latencies = [
        ms
        for ms in session.scalars(
            select(NotificationDelivery.latency_ms).where(
                NotificationDelivery.subject_type == "incident",
                NotificationDelivery.latency_ms.is_not(None),
            )
        )
        if ms is not None
    ]
    measured = (
        f" (実績: 通知 {len(latencies)} 件、最長 {max(latencies) / 60000:.1f} 分)"
        if latencies
        else ""
    )
    interval = settings.monitor_interval_seconds
    rows: list[list[Cell]] = [
        [
            "システム監視基準",
            f"死活監視: {interval}秒に1度監視\nパフォーマンス監視: "
            f"{schedules.said(settings, monitoring_tasks.PERFORMANCE_SAMPLE)}",
        ],
        [
            "障害通知プロセス",
            f"障害発生時に障害報告ページ ({settings.status_page_url}) に自動的に遷移する",
        ],
        ["障害通知時間", "5分以内" + measured],
        [
            "障害監視間隔",
            f"{interval}秒に一度監視 ({settings.monitor_fail_after} 回連続の失敗で障害と判定)",
        ],
        [
            "サービス提供状況の報告方法/間隔",
            f"運用レポートにて報告 ({schedules.said(settings, report_tasks.WEEKLY)})",
        ],
    ]
    return Section(
        "1-4-1",
        "1-4-1. サービスレベル項目 (信頼性)",
        tables=[Table(["サービスレベル項目", "本サービス"], rows)],
    )


def technical(settings: Settings, tenants: Sequence[Tenant]) -> Section:
    scanner = "ClamAV" if settings.clamd_address else "内蔵スキャナ (YARA 規則)"
    rows: list[list[Cell]] = [
        [
            "ウイルス対策",
            f"アップロードされた全ファイルを {scanner} で検査し、検出時は隔離します。",
        ],
        [
            "接続情報",
            "ユーザーごとのシリアル番号(16桁)に対応し暗号化パスワード (Argon2id) によって"
            "保護されます。",
        ],
        [
            "SSL 暗号化通信",
            "お客様環境から本サービスへの通信は TLS で保護されます。"
            + (
                " 弊社から提供する電子証明書 (端末証明書) がない接続は拒否します。"
                if settings.requires_client_cert
                else " 端末証明書は現在任意です。"
            ),
        ],
        ["WAF", waf_ja(settings)],
        ["IPS", ips_ja(settings)],
        [
            "不正アクセス対策",
            f"接続できる IP を {settings.allowed_countries} に限定し、"
            "それ以外の国の IP をブロックします。",
        ],
        ["不正ログイン対策", lockout_ja(tenants)],
        [
            "個人番号の暗号化",
            f"個人番号および本人確認資料は暗号化し、{len(settings.resolved_vault_store_urls)} "
            f"の領域に分割して保持します (復元には {settings.vault_k} 断片が必要)。",
        ],
    ]
    return Section(
        "2", "第 2 章. セキュリティ対策 (技術)", tables=[Table(["管理措置", "具体的な対応"], rows)]
    )


def backups(settings: Settings) -> Section:
    rows: list[list[Cell]] = []
    for klass, item, freq, job in CLASS_ROWS:
        when = f" ({schedules.said(settings, job)})" if job else ""
        target = TARGET_JA[retention.DEFAULT_TARGET[klass]]
        spec = "\n".join(
            [
                f"バックアップ頻度 :{freq}{when}",
                *retention_ja(settings, klass),
                f"保存場所 :{target}",
            ]
        )
        rows.append([item, spec])
    return Section(
        "3-3", "3-3. お客様データのバックアップ", tables=[Table(["バックアップ項目", "仕様"], rows)]
    )


def _rto_ja(session: Session) -> tuple[str, str]:
    drills = repo.passed_drills(session)
    if not drills:
        return "リストア訓練の記録はまだありません", "記録なし"
    seconds = [d.seconds or 0.0 for d in drills]
    last = drills[0].finished_at or drills[0].requested_at
    return (
        f"平均 {sum(seconds) / len(seconds) / 60:.1f} 分 (リストア訓練 {len(drills)} 回の実測、"
        f"最長 {max(seconds) / 60:.1f} 分)",
        f"{to_jst(last):%Y/%m/%d}",
    )


def backup_spec(session: Session, settings: Settings) -> Section:
    rto, last_drill = _rto_ja(session)
    rows: list[list[Cell]] = [
        ["バックアップの範囲", "暗号化したフルバックアップ (AES-256-GCM、署名付きマニフェスト)"],
        ["スケジュール", f"日次: {schedules.said(settings, backup_tasks.RUN_DAILY)}"],
        [
            "バックアップ機能の試験手順",
            f"全世代の検証 ({schedules.said(settings, backup_tasks.VERIFY)})",
        ],
        [
            "バックアップ機能の完全性検証",
            f"保存した全データを {settings.backup_verify_days} 日以内に読み戻して復号",
        ],
    ]
    rows += [
        ["復旧処理の開始からの所要時間", rto],
        [
            "リストア訓練 (障害対応訓練) 最終実施日",
            f"{last_drill} (ランダムな世代とテナントを復元して検査)",
        ],
    ]
    return Section(
        "3-3-1",
        "3-3-1. お客様データのバックアップの仕様に関して",
        tables=[Table(["項目", "仕様"], rows)],
    )
