"""SQL injection by tokenizing, not keyword matching.

The value is read as SQL the way a vulnerable query would embed it: as-is (a
numeric or bare context) and, when it holds a quote, as if it started inside a
string closed by its first quote (``'…'`` and ``"…"`` contexts, after
libinjection's idea). Each reading becomes a fingerprint of token types, and
the *shape* after the break-out decides: ``' OR 1=1``, ``admin'--``,
``1 UNION SELECT``, ``'; DROP TABLE``. Ordinary text ("select the best option
from the list", "O'Reilly", "1=1 の確認") has SQL words but not SQL shapes.

Token types: ``s`` string, ``n`` number/literal, ``v`` variable, ``U`` UNION,
``S`` SELECT, ``M`` a modifying statement, ``E`` EXEC/DECLARE/WAITFOR…,
``&`` logic (AND/OR/XOR/NOT/||/&&), ``o`` comparison, ``a`` arithmetic,
``k`` clause keyword, ``q`` soft keyword, ``f`` function, ``*`` star, ``b`` bareword,
``c`` comment, ``x`` other, and ``( ) , ;``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from hokan.edge.waf.model import Hit

_EXEC_COMMENT = re.compile(r"/\*!\d*")
_INLINE_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<c>--[^\n]*|\#[^\n]*|/\*.*)
  | (?P<s>'(?:[^'\\]|\\.|'')*'?|"(?:[^"\\]|\\.|"")*"?)
  | (?P<bq>`[^`]*`?)
  | (?P<n>0x[0-9a-f]+|0b[01]+|\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+)
  | (?P<v>@@?[\w.$]*)
  | (?P<w>[a-z_$][\w$.]*)
  | (?P<u>[^\x00-\x7f]+)
  | (?P<logic>\|\||&&)
  | (?P<cmp><=>|<>|!=|<=|>=|=|<|>|!<|!>)
  | (?P<star>\*)
  | (?P<ar>[-+/%^|&~!:]+)
  | (?P<p>[(),;])
  | (?P<x>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_MODIFY = _words("insert update delete drop create alter truncate grant revoke")
_EXECUTE = _words("exec execute declare shutdown waitfor")
_LOGIC = frozenset({"and", "or", "xor", "not"})
_LITERAL = frozenset({"true", "false", "null", "unknown"})
_CMP_WORDS = frozenset({"like", "rlike", "regexp", "is", "in", "between", "sounds", "glob"})
_ARITH_WORDS = frozenset({"div", "mod"})
_CLAUSE = _words(
    "from where having limit offset into outfile dumpfile procedure table database "
    "values order_by group_by"
)
_SOFT = _words("all distinct as on case when then else end set top join desc asc")
_STRONG_FUNCS = _words(
    "benchmark pg_sleep load_file extractvalue updatexml xp_cmdshell sp_executesql "
    "sp_oacreate openrowset opendatasource randomblob sqlite_version group_concat "
    "dbms_pipe.receive_message utl_inaddr.get_host_address utl_http.request "
    "dbms_lock.sleep sys_eval sys_exec make_set exp name_const geometrycollection "
    "polygon multipoint json_keys gtid_subset"
)
_WEAK_FUNCS = _words(
    "version database user current_user system_user session_user schema char chr "
    "concat concat_ws ascii ord substring substr mid hex unhex if iif cast convert "
    "count rand floor md5 sha1 length len elt"
)
_SCHEMA_NAMES = re.compile(
    r"information_schema|sysobjects|syscolumns|sysdatabases|pg_catalog|pg_shadow|pg_user"
    r"|mysql\.user|sqlite_master|sqlite_schema|msysobjects|all_tables|user_tables"
    r"|sys\.objects|sys\.tables|master\.\.|dba_users|v\$version"
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str


def tokenize(text: str, limit: int = 64) -> list[Token]:
    """Tokens of lower-cased ``text`` (at most ``limit``): comments folded, keywords typed."""
    out: list[Token] = []
    words: list[tuple[int, str]] = []
    for m in _TOKEN.finditer(text):
        group = m.lastgroup
        value = m.group()
        if group == "ws":
            continue
        if group == "w":
            words.append((len(out), value))
            kind = _word_kind(value, text, m.end())
        elif group == "bq" or group == "u":
            kind = "b"
        elif group == "logic":
            kind = "&"
        elif group == "cmp":
            kind = "o"
        elif group == "ar":
            kind = "a"
        elif group == "star":
            kind = "*"
        elif group == "p":
            kind = value
        else:
            kind = str(group)
        out.append(Token(kind, value))
        if kind == "c" or len(out) >= limit:
            break
    return _merge(out)


def _word_kind(word: str, text: str, end: int) -> str:
    if word == "union":
        return "U"
    if word == "select":
        return "S"
    if word in _MODIFY:
        return "M"
    if word in _EXECUTE:
        return "E"
    if word in _LOGIC:
        return "&"
    if word in _LITERAL:
        return "n"
    if word in _CMP_WORDS:
        return "o"
    if word in _ARITH_WORDS:
        return "a"
    if word in _CLAUSE or word in ("order", "group"):
        return "k"
    if word in _SOFT:
        return "q"
    rest = text[end : end + 8].lstrip()
    if rest.startswith("(") or rest.startswith("/*"):
        return "f"
    return "b"


def _merge(tokens: list[Token]) -> list[Token]:
    # "order"/"group" are clause keywords only when "by" follows.
    merged: list[Token] = []
    for tok in tokens:
        if tok.text == "by" and merged and merged[-1].text in ("order", "group"):
            merged[-1] = Token("k", merged[-1].text + "_by")
            continue
        merged.append(tok)
    return [
        Token("b", t.text) if t.text in ("order", "group") and t.kind == "k" else t for t in merged
    ]


def _fingerprint(tokens: list[Token]) -> str:
    return "".join(t.kind if len(t.kind) == 1 else "x" for t in tokens)


def _strip_comments(text: str) -> tuple[str, int]:
    inline = 0
    if "/*" in text:
        if "/*!" in text:
            text = _EXEC_COMMENT.sub(" ", text).replace("*/", " ")
            inline += 2
        text, n = _INLINE_COMMENT.subn(" ", text)
        inline += n
    return text, inline


# Shapes right after a break-out of a string ('…' or "…" contexts), on the fingerprint.
_AFTER_BREAK = [
    (re.compile(r"^\)*U(?:[qS(]|$)"), "sqli-union", 5),  # not "the 'union' rule"
    (re.compile(r"^\)*&\(*(?:[nsv]\)*(?:[oac&;kUq]|$)|b\)*[oc&;kU]|f\(|S)"), "sqli-tautology", 5),
    (re.compile(r"^\)*;(?:[SMEck]|$)"), "sqli-stacked", 5),
    (re.compile(r"^\)*o\(*[nsbvf]"), "sqli-breakout-operator", 5),
    (re.compile(r"^\)*[a*]\(*[sf(]"), "sqli-breakout-operator", 3),
    (re.compile(r"^\)*k\(*[nbvfc(]"), "sqli-breakout-clause", 5),  # not "the 'from' field"
    (re.compile(r"^\)*[SME](?!s)"), "sqli-breakout-statement", 4),
]
# Shapes of a numeric / bare context: the whole value read as SQL.
_BARE = [
    (re.compile(r"^a?\(*[nv]?\)*&\(*(?:[nsv]\)*o|[nsv]\)*c|f\(|\(*S)"), "sqli-tautology", 5),
    (re.compile(r"^a?\(*n\)*;(?:[SMEc]|$)"), "sqli-stacked", 5),
    (re.compile(r"^a?\(*n\)*k[nb](?:[oc,]|$)"), "sqli-clause", 5),
    (re.compile(r"^a?\(*n\)*k[nb]"), "sqli-clause", 3),
]
_ANYWHERE = [
    (re.compile(r"Uq?\(*S"), "sqli-union", 5),
    # After ';' a statement with SQL's shape: "; drop table users", not "; delete from the list".
    (re.compile(r";S(?:[vf*]|n(?:[,;ck]|$)|q?c|$)"), "sqli-stacked", 5),
    (re.compile(r";M(?:k\(*b(?:[ck;&(]|$)|q|b[kqs]|bb?c|c|$)"), "sqli-stacked", 5),
    (re.compile(r";E(?:v|f|c|$)"), "sqli-stacked", 5),
    (re.compile(r"Sv"), "sqli-select-from", 5),
    (re.compile(r"&\(*[ns]\)*o\(*[ns]"), "sqli-tautology", 5),
    (re.compile(r"S(?:[vf]|\*)[^U]*k"), "sqli-select-from", 5),
    (re.compile(r"[o&a*]\(S(?:\(*[nvf*]|\(q)"), "sqli-subquery", 5),
]


_NOSQL = re.compile(
    r"(?:^|\[)\$(?:where|ne|eq|gt|gte|lt|lte|regex|in|nin|exists|expr|function|accumulator"
    r"|elemmatch|or|and|not)\]?$"
)


def detect(lowered: str) -> list[Hit]:
    """SQL-injection hits in one lower-cased, decoded value."""
    text, inline = _strip_comments(lowered)
    hits: dict[str, int] = {}

    def hit(rule: str, score: int) -> None:
        hits[rule] = max(hits.get(rule, 0), score)

    if "$" in lowered and _NOSQL.search(lowered.strip()):  # {"$ne": …}, user[$ne]=x
        hit("sqli-nosql-operator", 5)  # Hokan speaks no MongoDB: these are always probes

    if inline >= 2 and ("select" in text or "union" in text or "/*!" in lowered):
        hit("sqli-comment-evasion", 5 if "/*!" in lowered else 3)
    if "+" in text and " " not in text.strip():
        text = text.replace("+", " ")  # 1+UNION+ALL+SELECT: '+' for spaces, unescaped
    tokens = tokenize(text)
    fp = _fingerprint(tokens)
    for pattern, rule, score in _BARE:
        if pattern.search(fp):
            hit(rule, score)
    for pattern, rule, score in _ANYWHERE:
        if pattern.search(fp):
            hit(rule, score)
    _functions(tokens, text, hit)
    for quote in ("'", '"'):
        at = text.find(quote)
        if at < 0:
            continue
        rest = text[at + 1 :]  # the value's first quote closes the application's string
        if not rest.strip():
            continue
        after = tokenize(rest, 24)
        afp = _fingerprint(after)
        for pattern, rule, score in _AFTER_BREAK:
            if pattern.search(afp):
                if rule == "sqli-tautology" and afp.strip(")") in ("&n", "&s"):
                    score = 3  # "5' or 6": too little shape to block on its own
                hit(rule, score)
                break
        if afp.lstrip(")").startswith("c"):
            comment = after[afp.index("c")].text
            weak = comment.startswith("#") and ("'" in comment or '"' in comment)
            hit("sqli-breakout-comment", 2 if weak else 5)
        for pattern, rule, score in _ANYWHERE:
            if pattern.search(afp):
                hit(rule, score)
        _functions(after, rest, hit)
    return [Hit(rule, "sqli", score) for rule, score in hits.items()]


def _functions(tokens: list[Token], text: str, hit: Callable[[str, int], None]) -> None:
    for i, tok in enumerate(tokens):
        if tok.kind == "f":
            name = tok.text
            nxt = tokens[i + 2] if i + 2 < len(tokens) else None
            if name in ("sleep", "pg_sleep", "benchmark", "dbms_lock.sleep") or name.endswith(
                ".sleep"
            ):
                if nxt is not None and nxt.kind in ("n", "f", "(", "S", "v"):
                    hit("sqli-time", 5)
            elif name in _STRONG_FUNCS:
                hit("sqli-function", 5)
        elif tok.kind == "E" and tok.text == "waitfor":
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and nxt.text in ("delay", "time"):
                hit("sqli-time", 5)
        elif tok.kind == "E" and tok.text in ("exec", "execute"):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and re.match(r"(master\.|xp_|sp_|\()", nxt.text):
                hit("sqli-exec", 5)
        elif tok.kind == "k" and tok.text == "into":
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and nxt.text in ("outfile", "dumpfile"):
                hit("sqli-file", 5)
        elif tok.kind == "v" and tok.text.startswith("@@"):
            hit("sqli-variable", 3)
    if _SCHEMA_NAMES.search(text):
        sqlish = any(t.kind in "SMEkU" for t in tokens)
        hit("sqli-schema", 5 if sqlish else 3)
