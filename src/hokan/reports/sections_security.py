"""ウイルス監視, 不正アクセス監視, 内部監査 and クロック同期 of the weekly report (REP-1)."""

from __future__ import annotations

from collections import Counter, defaultdict

from hokan.models import AuditEvent, ClockCheck
from hokan.reports import repository as repo
from hokan.reports.context import NO_DATA, SERVICE_WIDE, Ctx, day, jst
from hokan.reports.document import Cell, Chart, Section, Table

WAF_FAMILY_JA = {
    "sqli": "SQL インジェクション",
    "xss": "クロスサイトスクリプティング",
    "lfi": "ローカルファイル読取",
    "rfi": "リモートファイル読込",
    "cmdi": "コマンドインジェクション",
    "php": "PHP 攻撃",
    "java": "Java 攻撃",
    "ssti": "テンプレートインジェクション",
    "xml": "XML ベース攻撃",
    "protocol": "プロトコル違反",
}
GEO_CODES = ("country_not_allowed", "address_unknown")
REFUSAL_JA = {
    "country_not_allowed": "国外からの接続 (日本以外)",
    "address_unknown": "国を判定できない接続",
    "network_not_allowed": "許可されていないネットワーク",
}


def _weight(e: AuditEvent) -> int:
    """An entry stands for itself and the repeats its writer held back (rate-limited)."""
    d = e.detail or {}
    extra = d.get("suppressed_since_last", 0) or 0
    extra += (d.get("repeats", 0) or 0) + (d.get("held_back", 0) or 0)
    return 1 + int(extra)


def malware(c: Ctx) -> Section:
    section = Section("malware", "ウイルス監視")
    scanner = (
        f"ClamAV (clamd: {c.settings.clamd_address})"
        if c.settings.clamd_address
        else "内蔵スキャナ (YARA 規則)"
    )
    section.paragraphs.append(
        f"検査エンジン: {scanner}。アップロードされた全ファイルを検査します。"
    )
    found = repo.events(
        c.session, c.scope, ("attachments.quarantined", "attachments.upload"), c.start, c.end
    )
    uploads = [e for e in found if e.action == "attachments.upload"]
    bad = [e for e in found if e.action == "attachments.quarantined"]
    if not found:
        section.has_data = False
        section.paragraphs.append(NO_DATA)
        return section
    section.paragraphs.append(
        f"検査したファイル {len(uploads) + len(bad)} 件、"
        f"うちマルウェア検出 {len(bad)} 件 (隔離済み)。"
    )
    if bad:
        rows: list[list[Cell]] = []
        for e in bad:
            row: list[Cell] = [
                jst(e.occurred_at),
                str(e.detail.get("signature", "")),
                str(e.detail.get("scanner", "")),
            ]
            if not c.scope.is_tenant:
                row.append(str(e.tenant_id or ""))
            rows.append(row)
        header = ["検出日時", "検出名", "検査エンジン"] + (
            [] if c.scope.is_tenant else ["テナント ID"]
        )
        section.tables.append(Table(header, rows, "検出されたマルウェア"))
    section.charts.append(
        Chart(
            "日別の検査数と検出数",
            c.day_labels(),
            [
                ("検査", c.per_day(e.occurred_at for e in found)),
                ("検出", c.per_day(e.occurred_at for e in bad)),
            ],
            "件",
        )
    )
    return section


def intrusion(c: Ctx) -> Section:
    section = Section("intrusion", "不正アクセス監視")
    actions = (
        "waf.blocked",
        "waf.detected",
        "edge.refused",
        "ips.ban",
        "auth.lock",
        "auth.spraying_suspected",
        "operator.lock",
    )
    found = repo.events(c.session, c.scope, actions, c.start, c.end)
    if c.scope.is_tenant:
        section.paragraphs.append(
            "WAF・国外 IP 遮断・IPS の件数はサービス全体の値です (送信元アドレスは記載しません)。"
            "アカウントロックは貴社のアカウントのみです。"
        )
        found = [e for e in found if e.action != "operator.lock"]
    if not found:
        section.has_data = False
        section.paragraphs.append(NO_DATA)
        return section
    families: Counter[str] = Counter()
    for e in found:
        if e.action in ("waf.blocked", "waf.detected"):
            fams = {str(r).split("-", 1)[0] for r in e.detail.get("rules", [])} or {"other"}
            for f in fams:
                families[f] += _weight(e)
    refusals: Counter[str] = Counter()
    for e in found:
        if e.action == "edge.refused":
            refusals[str(e.detail.get("error", ""))] += _weight(e)
    bans = [e for e in found if e.action == "ips.ban"]
    locks = [e for e in found if e.action == "auth.lock"]
    operator_locks = [e for e in found if e.action == "operator.lock"]
    spraying = [e for e in found if e.action == "auth.spraying_suspected"]
    geo = sum(refusals[k] for k in GEO_CODES)
    summary: list[list[Cell]] = [
        ["WAF による遮断", sum(families.values())],
        ["国外 IP の遮断 (日本以外)", geo],
        ["その他の接続拒否", sum(refusals.values()) - geo],
        ["IPS による送信元の遮断", len(bans)],
        ["アカウントロック (連続ログイン失敗)", len(locks)],
        ["パスワードスプレー攻撃の疑い", len(spraying)],
    ]
    if not c.scope.is_tenant:
        summary.append(["運用者アカウントのロック", len(operator_locks)])
    section.tables.append(Table(["項目", "件数"], summary, "件数"))
    section.paragraphs.append(
        f"WAF 遮断 {sum(families.values())} 件、国外 IP 遮断 {geo} 件、IPS 遮断 {len(bans)} 件、"
        f"アカウントロック {len(locks)} 件、スプレー攻撃の疑い {len(spraying)} 件。"
    )
    if families:
        section.tables.append(
            Table(
                ["攻撃の種類", "件数"],
                [[WAF_FAMILY_JA.get(f, f), n] for f, n in families.most_common()],
                "WAF 遮断の内訳",
            )
        )
        section.charts.append(
            Chart(
                "WAF 遮断の種類別件数",
                [WAF_FAMILY_JA.get(f, f) for f, _ in families.most_common()],
                [("件数", [float(n) for _, n in families.most_common()])],
                "件",
            )
        )
    if refusals:
        section.tables.append(
            Table(
                ["理由", "件数"],
                [[REFUSAL_JA.get(k, k), n] for k, n in refusals.most_common()],
                "接続拒否の内訳",
            )
        )
    if bans and not c.scope.is_tenant:
        by_ip: dict[str, list[AuditEvent]] = defaultdict(list)
        for e in bans:
            by_ip[e.target_id].append(e)
        section.tables.append(
            Table(
                ["送信元", "遮断回数", "最後の遮断", "理由"],
                [
                    [
                        ip,
                        len(items),
                        jst(items[-1].occurred_at),
                        str(items[-1].detail.get("reason", "")),
                    ]
                    for ip, items in sorted(by_ip.items(), key=lambda kv: -len(kv[1]))[:20]
                ],
                "IPS が遮断した送信元 (上位 20)",
            )
        )
    section.charts.append(
        Chart(
            "日別の件数",
            c.day_labels(),
            [
                ("WAF", c.per_day(e.occurred_at for e in found if e.action.startswith("waf."))),
                ("接続拒否", c.per_day(e.occurred_at for e in found if e.action == "edge.refused")),
                ("IPS", c.per_day(e.occurred_at for e in bans)),
                ("ロック", c.per_day(e.occurred_at for e in locks)),
            ],
            "件",
        )
    )
    return section


def internal_audit(c: Ctx) -> Section:
    section = Section("audit", "内部監査")
    days = c.week.days
    runs = {r.audit_date: r for r in repo.daily_runs(c.session, days[0], days[-1])}
    found = repo.findings(c.session, c.scope, days[0], days[-1])
    still_open = repo.open_findings(c.session, c.scope)
    section.paragraphs.append(
        f"日次の内部監査 (操作ログの監査): {len(runs)} / 7 日実施。"
        f"この週の指摘 {len(found)} 件、未確認の指摘 (全期間) {still_open} 件。"
    )
    section.has_data = bool(runs or found or still_open)
    per_day: Counter[object] = Counter(f.audit_date for f in found)
    rows: list[list[Cell]] = []
    for d in days:
        r = runs.get(d)
        if r is None:
            rows.append([day(d), "未実施", None, per_day[d] if c.scope.is_tenant else None])
        else:
            n = per_day[d] if c.scope.is_tenant else r.findings
            rows.append([day(d), "実施", r.entries_examined, n])
    section.tables.append(
        Table(["監査対象日", "実施", "検査した記録 (件)", "指摘 (件)"], rows, "日次監査")
    )
    if found:
        section.tables.append(
            Table(
                ["監査対象日", "規則", "重要度", "概要", "状態"],
                [
                    [
                        day(f.audit_date),
                        f.rule,
                        f.severity,
                        f.summary,
                        "未確認" if f.status.value == "open" else "確認済み",
                    ]
                    for f in found
                ],
                "指摘",
            )
        )
    if not section.has_data:
        section.paragraphs.append(NO_DATA)
    return section


def clock(c: Ctx) -> Section:
    section = Section("clock", "クロック同期")
    limit = c.settings.clock_max_offset_ms
    section.paragraphs.append(
        f"週に 1 回、日本標準時 (NTP: {', '.join(c.settings.ntp_servers)}) との差を確認します"
        f" (許容 {limit} ms)。"
    )
    rows = repo.clock_checks(c.session, c.start, c.end)
    if not rows:
        section.has_data = False
        section.paragraphs.append("この週のクロック同期確認の記録はありません。")
        return section
    checks: dict[object, list[ClockCheck]] = defaultdict(list)
    for r in rows:
        checks[r.check_id].append(r)
    result_ja = {"ok": "正常", "offset_exceeded": "許容超過", "unreachable": "応答なし"}
    table: list[list[Cell]] = []
    for items in checks.values():
        chosen = next((i for i in items if i.chosen), items[0])
        offset = None if chosen.offset_seconds is None else round(chosen.offset_seconds * 1000, 3)
        table.append(
            [
                jst(chosen.checked_at),
                chosen.server,
                offset,
                result_ja.get(chosen.result, chosen.result),
            ]
        )
    section.tables.append(
        Table(["確認日時", "NTP サーバ", "時刻差 (ms)", "結果"], table, "確認結果")
    )
    bad = [t for t in table if t[3] != "正常"]
    section.paragraphs.append(f"確認 {len(table)} 回、うち異常 {len(bad)} 回。")
    return section


def service_wide_note(section: Section, c: Ctx) -> None:
    if c.scope.is_tenant:
        section.paragraphs.insert(0, SERVICE_WIDE)
