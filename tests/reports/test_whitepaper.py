"""``hokan whitepaper generate`` (REP-3): the measurable sections from live settings and
records, in Japanese; a changed setting changes the document and its 変更履歴 (REP-4)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle
from tests.reports.conftest import fill_week
from tests.reports.test_cli import Cli, cli  # noqa: F401 (fixture)


def test_the_document_follows_the_settings(
    cli: Cli,  # noqa: F811
    runtime: Runtime,
    settings: Settings,
    make_tenant: Callable[..., TenantHandle],
    tmp_path: Path,
) -> None:
    filled = fill_week(runtime, make_tenant(), make_tenant())
    out = tmp_path / "wp"
    r = cli("whitepaper", "generate", "--out", str(out))
    assert r.exit_code == 0, r.output
    first = (out / "whitepaper.md").read_text(encoding="utf-8")
    for text in (
        "死活監視: 30秒に1度監視",
        "14日前にメール/本サービスにて通知",
        "管理世代数 :7 世代",
        "管理世代数 :3 世代",
        "本サービス環境とは別の遠隔地",
        "ログインが 5 回連続で失敗した場合、アカウントを 30 分間ロック",
        "接続できる IP を JP に限定",
        "パラノイアレベル 1",
        "停止の詳細",
        "ネットワーク機器の故障",  # an incident of the records, with its cause
        filled.incident_number,
        "初版",
        "平均 1.6 分 (リストア訓練 1 回の実測",  # the drill's RTO, 95.5 s
    ):
        assert text in first, text
    daily = (
        "エクスプレスシリーズシステムデータ | バックアップ頻度 :日次 (毎日 02:00)<br>管理世代数 :"
    )
    assert daily + "7 世代" in first

    # Five daily generations instead of seven, a 60-second probe: the document follows.
    r = cli(
        "whitepaper",
        "generate",
        "--out",
        str(out),
        extra={
            "HOKAN_BACKUP_POLICIES": json.dumps({"daily": {"last": 5}}),
            "HOKAN_MONITOR_INTERVAL_SECONDS": "60",
        },
    )
    assert r.exit_code == 0, r.output
    second = (out / "whitepaper.md").read_text(encoding="utf-8")
    assert daily + "7 世代" not in second
    assert daily + "5 世代" in second
    assert "死活監視: 60秒に1度監視" in second
    # The vault's own class is untouched; the change history names what changed.
    assert (
        "マイナンバー・本人確認資料 | バックアップ頻度 :日次 (毎日 02:00)<br>管理世代数 :7 世代"
        in second
    )
    assert "死活監視の間隔: 30 秒 → 60 秒" in second
    assert "管理世代数 :7 世代 → 管理世代数 :5 世代" in second

    r = cli("whitepaper", "generate", "--out", str(out), "--format", "pdf")
    assert r.exit_code == 0, r.output
    pdf = out / "whitepaper.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True
        ).stdout
        assert "セキュリティホワイトペーパー" in text and "サービスの運用状況報告" in text
    r = cli("whitepaper", "generate", "--out", str(out), "--format", "html")
    assert r.exit_code == 0 and "<table>" in (out / "whitepaper.html").read_text(encoding="utf-8")
