"""環境保守 of the weekly report: backups, liveness, hardware health, load (REP-1)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from hokan.backup import retention
from hokan.models import HostSample
from hokan.monitoring.performance import Point, Totals, performance
from hokan.reports import repository as repo
from hokan.reports.context import NO_DATA, SERVICE_WIDE, Ctx, day, jst
from hokan.reports.document import Cell, Chart, Section, Table

CLASS_JA = {
    retention.DAILY: "日次",
    retention.MONTHLY: "月次",
    retention.VAULT: "個人番号 (日次)",
    retention.UPGRADE: "バージョンアップ時",
    retention.MAINTENANCE: "メンテナンス時",
}
DRILL_JA = {
    "passed": "成功",
    "failed": "失敗",
    "skipped": "省略",
    "requested": "依頼中",
    "running": "実施中",
}
STATUS_JA = {"up": "正常", "degraded": "低下", "down": "停止", "unknown": "不明"}


def backup(c: Ctx) -> Section:
    runs = repo.events(c.session, c.scope, ("backup.run",), c.start, c.end)
    restores = repo.events(c.session, c.scope, ("backup.restore",), c.start, c.end)
    verifies = repo.job_runs(c.session, "backup.verify", c.start, c.end)
    drills = repo.drills(c.session, c.start, c.end)
    verified, unverified = repo.verifications(c.session, c.start, c.end)
    ok = [e for e in runs if e.result == "success"]
    failed = [e for e in runs if e.result != "success"]
    verified_ok = [r for r in verifies if r.status == "ok"]
    section = Section("backup", "バックアップ")
    section.has_data = bool(runs or restores or verifies or drills or verified or unverified)
    if not section.has_data:
        section.paragraphs.append(NO_DATA)
        return section
    section.paragraphs.append(
        f"バックアップ取得 {len(ok)} 件 (失敗 {len(failed)} 件)、"
        f"検証 {len(verifies)} 回 (成功 {len(verified_ok)} 回)、リストア {len(restores)} 回、"
        f"リストア訓練 {len(drills)} 回。"
    )
    if verified or unverified:
        section.paragraphs.append(
            f"全データの読み戻し・復号による検証: {verified} 世代で成功、{unverified} 世代で失敗。"
        )
    by_day: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for e in runs:
        key = (c.day_index(e.occurred_at), str(e.detail.get("class", "")))
        cell = by_day[key]
        cell[0 if e.result == "success" else 1] += 1
        cell[2] += int(e.detail.get("bytes", 0) or 0)
    rows: list[list[Cell]] = []
    for (i, klass), (good, bad, size) in sorted(by_day.items()):
        rows.append([day(c.week.days[i]), CLASS_JA.get(klass, klass), good, bad, size])
    section.tables.append(
        Table(
            ["日付", "種類", "取得 (件)", "失敗 (件)", "容量 (バイト)"],
            rows,
            "取得したバックアップ",
        )
    )
    if verifies:
        section.tables.append(
            Table(
                ["実行日時", "結果", "検証した世代数"],
                [
                    [
                        jst(r.started_at),
                        "成功" if r.status == "ok" else "失敗",
                        r.summary.get("generations"),
                    ]
                    for r in verifies
                ],
                "バックアップの検証 (全チャンクの復号)",
            )
        )
    if drills:
        rows_d: list[list[Cell]] = []
        for d in drills:
            row: list[Cell] = [
                jst(d.requested_at),
                d.generation or "",
                DRILL_JA.get(d.status, d.status),
                None if d.seconds is None else round(d.seconds, 1),
            ]
            if not c.scope.is_tenant:
                row.append(d.tenant_code or "")
            rows_d.append(row)
        header = ["実施日時", "世代", "結果", "復旧時間 (秒, RTO)"]
        section.tables.append(
            Table(
                header + ([] if c.scope.is_tenant else ["確認したテナント"]),
                rows_d,
                "リストア訓練 (障害対応訓練)",
            )
        )
    if restores:
        section.tables.append(
            Table(
                ["実行日時", "世代", "結果", "所要時間 (秒, RTO)"],
                [
                    [
                        jst(e.occurred_at),
                        e.target_id,
                        "成功" if e.result == "success" else "失敗",
                        e.detail.get("seconds"),
                    ]
                    for e in restores
                ],
                "リストア (障害対応訓練を含む)",
            )
        )
    section.charts.append(
        Chart(
            "日別のバックアップ取得数",
            c.day_labels(),
            [
                ("成功", c.per_day(e.occurred_at for e in ok)),
                ("失敗", c.per_day(e.occurred_at for e in failed)),
            ],
            "件",
        )
    )
    return section


def liveness(c: Ctx) -> Section:
    rows = repo.spans(c.session, c.start, c.end)
    section = Section("liveness", "死活監視")
    interval = c.settings.monitor_interval_seconds
    section.paragraphs.append(f"監視間隔: {interval} 秒ごと (全コンポーネント)。")
    if not rows:
        section.has_data = False
        section.paragraphs.append(NO_DATA)
        return section
    minutes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    probes: dict[str, int] = defaultdict(int)
    bad_by_day: dict[str, list[float | None]] = {
        "down": [0.0] * 7,
        "degraded": [0.0] * 7,
    }
    for span in rows:
        lo, hi = max(span.start, c.start), min(span.end, c.end)
        if hi <= lo:
            continue
        minutes[span.component][span.status] += int((hi - lo).total_seconds() // 60)
        probes[span.component] += span.probes
        if span.status in bad_by_day:
            moment = lo
            while moment < hi:
                step = min(hi, moment + timedelta(minutes=60))
                i = c.day_index(moment)
                if 0 <= i < 7:
                    series = bad_by_day[span.status]
                    series[i] = (series[i] or 0.0) + (step - moment).total_seconds() / 60
                moment = step
    table_rows: list[list[Cell]] = []
    for component in sorted(minutes):
        m = minutes[component]
        seen = m["up"] + m["degraded"] + m["down"]
        share = round(100 * (m["up"] + m["degraded"]) / seen, 3) if seen else None
        table_rows.append(
            [component, m["up"], m["degraded"], m["down"], m["unknown"], probes[component], share]
        )
    section.tables.append(
        Table(
            [
                "コンポーネント",
                "正常 (分)",
                "低下 (分)",
                "停止 (分)",
                "不明 (分)",
                "確認回数",
                "応答率 (%)",
            ],
            table_rows,
            "コンポーネント別の監視結果",
        )
    )
    down = sum(m["down"] for m in minutes.values())
    section.paragraphs.append(f"停止と判定された時間: 延べ {down} 分。")
    section.charts.append(
        Chart(
            "日別の停止・低下時間",
            c.day_labels(),
            [("停止", bad_by_day["down"]), ("低下", bad_by_day["degraded"])],
            "分",
        )
    )
    return section


def hardware(c: Ctx) -> Section:
    rows = repo.host_samples(c.session, c.start, c.end)
    section = Section("hardware", "ハードウェアの健全性")
    if not rows:
        section.has_data = False
        section.paragraphs.append(NO_DATA)
        return section
    if c.scope.is_tenant:
        section.paragraphs.append(SERVICE_WIDE)
    by_host: dict[str, list[HostSample]] = defaultdict(list)
    for r in rows:
        by_host[r.host].append(r)
    table_rows: list[list[Cell]] = []
    for host, items in sorted(by_host.items()):
        cpu = [i.cpu_percent for i in items]
        mem = [i.memory_percent for i in items]
        disk = [i.disk_percent for i in items]
        table_rows.append(
            [
                host,
                len(items),
                round(sum(cpu) / len(cpu), 1),
                round(max(cpu), 1),
                round(sum(mem) / len(mem), 1),
                round(max(mem), 1),
                round(max(disk), 1),
                round(min(i.disk_free_bytes for i in items) / 1024**3, 2),
            ]
        )
    section.tables.append(
        Table(
            [
                "ホスト",
                "計測回数",
                "CPU 平均 (%)",
                "CPU 最大 (%)",
                "メモリ 平均 (%)",
                "メモリ 最大 (%)",
                "ディスク 最大 (%)",
                "ディスク空き 最小 (GiB)",
            ],
            table_rows,
            "ホスト別の使用率",
        )
    )
    worst_disk = max(r.disk_percent for r in rows)
    verdict = "注意: ディスク使用率が 85% を超えました。" if worst_disk >= 85 else "異常なし。"
    section.paragraphs.append(f"計測 {len(rows)} 回、{len(by_host)} ホスト。{verdict}")

    def daily(attr: str) -> list[float | None]:
        sums = [0.0] * 7
        counts = [0] * 7
        for r in rows:
            i = c.day_index(r.taken_at)
            if 0 <= i < 7:
                sums[i] += float(getattr(r, attr))
                counts[i] += 1
        return [round(sums[i] / counts[i], 1) if counts[i] else None for i in range(7)]

    section.charts.append(
        Chart(
            "日別の平均使用率",
            c.day_labels(),
            [
                ("CPU", daily("cpu_percent")),
                ("メモリ", daily("memory_percent")),
                ("ディスク", daily("disk_percent")),
            ],
            "%",
            "line",
        )
    )
    return section


def load(c: Ctx) -> Section:
    rows = repo.snapshots(c.session, c.start, c.end)
    samples = repo.performance_samples(c.session, c.start, c.week.end + timedelta(days=1))
    section = Section("load", "負荷分散の監視")
    points = [Point(r.taken_at, r.host, r.boot, Totals.from_data(r.data)) for r in rows]
    if len(points) < 2 and not samples:
        section.has_data = False
        section.paragraphs.append(NO_DATA)
        return section
    if c.scope.is_tenant:
        section.paragraphs.append(SERVICE_WIDE)
    table_rows: list[list[Cell]] = []
    rate: list[float | None] = []
    p95: list[float | None] = []
    errors: list[float | None] = []
    for i, d in enumerate(c.week.days):
        mine = [p for p in points if c.day_index(p.taken_at) == i]
        if len(mine) < 2:
            rate.append(None)
            p95.append(None)
            errors.append(None)
            table_rows.append([day(d), None, None, None, None, None, None])
            continue
        perf = performance(mine)
        err = None if perf.error_rate is None else round(perf.error_rate * 100, 3)
        rate.append(round(perf.request_rate, 3))
        p95.append(perf.p95_ms)
        errors.append(err)
        table_rows.append(
            [
                day(d),
                perf.requests,
                round(perf.request_rate, 3),
                perf.p95_ms,
                err,
                round(perf.bytes_in_per_second),
                round(perf.bytes_out_per_second),
            ]
        )
    header = [
        "日付",
        "リクエスト数",
        "リクエスト率 (/秒)",
        "p95 遅延 (ms)",
        "エラー率 (%)",
        "受信帯域 (B/秒)",
        "送信帯域 (B/秒)",
    ]
    if len(points) >= 2:
        week = performance(points)
        err = None if week.error_rate is None else round(week.error_rate * 100, 3)
        table_rows.append(
            [
                "週合計",
                week.requests,
                round(week.request_rate, 3),
                week.p95_ms,
                err,
                round(week.bytes_in_per_second),
                round(week.bytes_out_per_second),
            ]
        )
        section.paragraphs.append(
            f"リクエスト {week.requests:,} 件、p95 遅延 "
            f"{'—' if week.p95_ms is None else f'{week.p95_ms:.1f} ms'}、"
            f"エラー率 {'—' if err is None else f'{err}%'}。"
        )
    section.tables.append(Table(header, table_rows, "日別の性能 (パフォーマンス監視)"))
    if samples:
        section.tables.append(
            Table(
                [
                    "期間の終わり",
                    "リクエスト数",
                    "p50 (ms)",
                    "p95 (ms)",
                    "p99 (ms)",
                    "エラー率 (%)",
                ],
                [
                    [
                        jst(x.period_end),
                        x.requests,
                        x.p50_ms,
                        x.p95_ms,
                        x.p99_ms,
                        None if x.error_rate is None else round(x.error_rate * 100, 3),
                    ]
                    for x in samples
                ],
                "週次の性能サンプル (monitoring.performance_sample)",
            )
        )
    section.charts.append(Chart("日別の p95 遅延", c.day_labels(), [("p95", p95)], "ms", "line"))
    section.charts.append(
        Chart("日別のリクエスト率", c.day_labels(), [("リクエスト率", rate)], "件/秒")
    )
    return section
