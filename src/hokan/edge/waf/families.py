"""The pattern-shaped families: traversal / LFI, RFI, OS commands, PHP, Java, templates, XML.

Each rule needs the *structure* of an attack, not a word: a command after a shell
separator with an argument shaped like a path or a flag ("rm 室" and "dog; cat"
are text), a template delimiter around an expression rather than a name
(``{{7*7}}`` but not ``{{name}}``), a traversal sequence next to a path.
"""

from __future__ import annotations

import re

from hokan.edge.waf.model import CRITICAL, ERROR, NOTICE, WARNING, Hit, Rule, first, scan

# --------------------------------------------------------------------------- traversal / LFI

_TRAVERSAL = re.compile(r"(?:^|(?<=[/=:'\"\s(;,]))\.{2,}(?:;[^/]*)?/|/\.{2,}(?:$|;)")
_SENSITIVE = re.compile(
    r"(?:^|[/=:'\"\s])(?:etc/(?:passwd|shadow|group|hosts|issue|motd|hostname|crontab|sudoers"
    r"|fstab|resolv\.conf|ssh/|my\.cnf|mysql/|httpd/|apache2?/|nginx/|php|environment)"
    r"|proc/(?:self|\d+)/(?:environ|cmdline|fd|maps|status|mem|exe|cwd|root)"
    r"|proc/(?:version|cpuinfo|meminfo|mounts|net/)|\.env(?:$|[.\s])|inetpub/|web\.config"
    r"|boot\.ini|win\.ini|system\.ini|(?:c:)?/?windows/(?:system32|win\.ini|repair|system\.ini)"
    r"|winnt/|web-inf/|meta-inf/|\.htaccess|\.htpasswd|\.git/(?:config|head|index)"
    r"|\.svn/entries|\.ssh/(?:id_[a-z0-9]+|authorized_keys|known_hosts)|wp-config\.php"
    r"|var/log/(?:apache|nginx|httpd|auth|secure|syslog|messages)|root/\.|\.bash_history"
    r"|\.aws/credentials|\.docker/config|usr/local/etc/)"
)
_WRAPPER = re.compile(
    r"(?:php|expect|phar|zip|glob|compress\.zlib|compress\.bzip2|ogg|rar|ssh2\.\w+)://"
    r"|file:/{1,3}[a-z/~.]|data:(?://)?text/plain;base64|php://"
)


_LFI: list[Rule] = [
    (_SENSITIVE, "lfi-sensitive-file", CRITICAL),
    (_WRAPPER, "lfi-wrapper", CRITICAL),
]


def lfi(lowered: str) -> list[Hit]:
    text = lowered.replace("\\", "/")
    hits: list[Hit] = []
    steps = len(_TRAVERSAL.findall(text))
    if steps >= 2:
        hits.append(Hit("lfi-traversal", "lfi", CRITICAL))
    elif steps == 1:
        hits.append(Hit("lfi-traversal", "lfi", ERROR))
    return hits + scan(text, "lfi", _LFI)


# --------------------------------------------------------------------------- RFI

_URL = re.compile(r"(?:(?:https?|ftps?)://|^//|^\\\\)([^\s/\\?#]+)([^\s?#]*)(\?[^\s#]*)?(#\S*)?")
_SCRIPT_EXT = re.compile(r"\.(?:txt|inc|php\d?|phtml|jsp|asp|aspx|pl|py|sh|cgi|sql|dll|hta|exe)$")
_IP_HOST = re.compile(r"^(?:[^@]*@)?(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?$|^\[[0-9a-f:]+\]")
_SSRF_SCHEMES = re.compile(
    r"(?:gopher|dict|jar|tftp|netdoc|sftp|smb|ldaps?)://|\bjar:(?:https?|file|ftp):"
)
# Cloud instance metadata: a URL no client of Hokan has reason to send.
_METADATA = re.compile(
    r"//(?:[^/@\s]*@)?(?:169\.254\.169\.254|\[?fd00:ec2::254\]?|metadata\.google\.internal"
    r"|metadata\.azure\.com|100\.100\.100\.200)(?:[:/]|$)"
)


# Every RFI rule needs one of these; most URLs in business data have none.
_RFI_HINT = re.compile(
    r"[?#]\s*$|\?\S*\?|\.(?:txt|inc|php\d?|phtml|jsp|aspx?|pl|py|sh|cgi|sql|dll|hta|exe)\b"
    r"|//(?:[^/@\s]*@)?(?:\d|\[)|^\s*\\\\|(?:gopher|dict|jar|tftp|netdoc|sftp|smb|ldaps?):"
    r"|metadata\."
)


def rfi(lowered: str) -> list[Hit]:
    if _RFI_HINT.search(lowered) is None:
        return []
    hits: list[Hit] = []
    for m in _URL.finditer(lowered.strip()):
        host, path, query, frag = m.group(1), m.group(2) or "", m.group(3), m.group(4)
        ip = bool(_IP_HOST.match(host))
        script = bool(_SCRIPT_EXT.search(path))
        unc = m.group(0).startswith("\\\\")
        trailing = (query is not None and query.endswith("?")) or frag == "#"
        if trailing or (script and unc):
            hits.append(Hit("rfi-url-trailing", "rfi", CRITICAL))
        elif script and (
            ip
            or m.group(0).startswith("ftp")
            or path.endswith((".txt", ".inc", ".sh", ".pl", ".hta"))
        ):
            hits.append(Hit("rfi-script-url", "rfi", CRITICAL))
        elif ip:
            hits.append(Hit("rfi-ip-url", "rfi", WARNING))
        elif script:
            hits.append(Hit("rfi-script-url", "rfi", NOTICE))
    if _SSRF_SCHEMES.search(lowered):
        hits.append(Hit("rfi-scheme", "rfi", CRITICAL))
    if _METADATA.search(lowered):
        hits.append(Hit("rfi-metadata", "rfi", CRITICAL))
    return hits


# --------------------------------------------------------------------------- OS commands

_SEP = r"(?:^|[;&|\n\r`]|\$\(|\|\||&&)\s*"
# Commands with no other meaning in text: a separator before them is enough.
_UNIQUE = (
    r"whoami|uname|ifconfig|ipconfig|netstat|nslookup|wget|curl|ncat|netcat|bash|zsh|ksh|csh"
    r"|dash|powershell|pwsh|cmd|cmd\.exe|systeminfo|certutil|bitsadmin|busybox|tftp|chmod|chown"
    r"|crontab|mkfifo|xxd|python[23]?|perl|ruby|php|nohup|printenv|tasklist|taskkill|wmic"
    r"|rundll32|regsvr32|mshta|cscript|wscript|msiexec|schtasks|traceroute|nmap|md5sum|uptime"
    r"|hostname|net\s+(?:user|localgroup|view|share)"
)
_SHORT = r"id|ls|pwd|ps|env|sh|nc|ver|dir|arp"
# Ordinary words that are also commands: only with an argument shaped like one.
_WORDS = (
    r"cat|echo|rm|cp|mv|type|more|head|tail|find|grep|awk|sed|kill|sleep|ping|net|set|touch"
    r"|which|who|last|host|dig|reboot|shutdown|sudo|su|timeout|expr|passwd|ssh|ftp|telnet"
    r"|base64|tar|chgrp|killall|mkdir|rmdir|useradd|usermod|export|unset|eval|exec|source"
)
_PREFIX = r"(?:/(?:usr/)?(?:local/)?s?bin/|c:\\windows\\system32\\|\\?)?"
_END = r"(?=$|[\s;&|<>`'\")]|(?i:\$\{?ifs))"
_ARG = (
    r"(?:\s+|(?i:\$\{?ifs\}?)|<)"
    r"(?:-{1,2}[a-z]|[/\\~$.]|\d+(?:\.\d+){0,3}\s*(?:$|[);&|`])|(?i:[a-z]:\\)"
    r"|\d+\.\d+\.\d+\.\d+|>)"
)
_CMD: list[Rule] = [
    (re.compile(_SEP + _PREFIX + r"(?:" + _UNIQUE + r")" + _END), "cmdi-command", CRITICAL),
    (
        re.compile(
            _SEP
            + _PREFIX
            + r"(?:"
            + _SHORT
            + r")(?=$|\s+-|[\s]*[;&|`)#]|(?i:\$\{?ifs|\s+/|\s+[a-z]:\\))"
        ),
        "cmdi-command",
        CRITICAL,
    ),
    (re.compile(_SEP + _PREFIX + r"(?:" + _WORDS + r")" + _ARG), "cmdi-command", CRITICAL),
    # echo/printf with one word, then the end or another separator: the classic probe.
    (
        re.compile(_SEP + r"(?:echo|printf)\s+[\w$'\"-]+\s*(?:$|[;&|`#])"),
        "cmdi-command",
        CRITICAL,
    ),
    (re.compile(r"(?i)\$\{?ifs\b|\$\{path:0:1\}|\$\{home:0:1\}"), "cmdi-ifs", CRITICAL),
    (
        re.compile(r"/dev/(?:tcp|udp)/|/bin/(?:ba|z|k|da|c)?sh\b|/usr/bin/env\b"),
        "cmdi-shell",
        CRITICAL,
    ),
    (re.compile(r"\b(?:python[23]?|perl|ruby|php|node)\s+-[ecr]\s"), "cmdi-interpreter", CRITICAL),
    (
        re.compile(r"\bcmd(?:\.exe)?\s*/[ck]\b|%comspec%|powershell(?:\.exe)?\s+-\w"),
        "cmdi-windows",
        CRITICAL,
    ),
    (
        re.compile(r"`[^`]*\b(?:" + _UNIQUE + r"|" + _SHORT + r"|" + _WORDS + r")\b[^`]*`"),
        "cmdi-substitution",
        CRITICAL,
    ),
    (
        re.compile(r"\$\(\s*" + _PREFIX + r"(?:" + _UNIQUE + "|" + _SHORT + "|" + _WORDS + r")\b"),
        "cmdi-substitution",
        CRITICAL,
    ),
    (
        re.compile(r"(?i)<!--\s*#\s*(?:exec|include|echo|config|fsize|flastmod|printenv|set)\b"),
        "cmdi-ssi",
        CRITICAL,
    ),
    (re.compile(r"\$\(\s*[a-z/][^)]*\)"), "cmdi-substitution", WARNING),
    (re.compile(r">\s*/(?:tmp|var/www|dev/shm|etc)/|2>&1"), "cmdi-redirect", CRITICAL),
]


def cmdi(decoded: str) -> list[Hit]:
    # Case matters: shells run ``id``, not ``ID``; Windows' few commands are matched lower-cased.
    return scan(decoded, "cmdi", _CMD)


# --------------------------------------------------------------------------- PHP

_PHP_TAG = re.compile(r"<\?(?:php\b|=)")
_PHP_FUNCS = (
    r"system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|eval|assert|preg_replace"
    r"|create_function|call_user_func(?:_array)?|base64_decode|gzinflate|gzuncompress|str_rot13"
    r"|file_get_contents|file_put_contents|fopen|fwrite|include(?:_once)?|require(?:_once)?"
    r"|highlight_file|show_source|unserialize|putenv|ini_set|move_uploaded_file|readfile"
    r"|array_map|usort|phpinfo"
)
_PHP_CALL_STRONG = re.compile(
    r"\b(?:" + _PHP_FUNCS + r")\s*\(\s*(?:['\"$]|(?:" + _PHP_FUNCS + r")\s*\()"
)
_PHP_CALL = re.compile(r"\b(?:" + _PHP_FUNCS + r")\(")
_PHP_GLOBALS = re.compile(
    r"\$_(?:get|post|request|cookie|server|files|env|session)\b|\$\{?globals\b"
)
_PHP_GLOBAL_INDEX = re.compile(r"\$_(?:get|post|request|cookie|server|files|env|session)\s*\[")
_PHP_SERIALIZED = re.compile(r"(?:^|[;{])[oc]:\d+:\"[\w\\]+\":\d+:\{|^a:\d+:\{[isbdo]:")


_PHP: list[Rule] = [
    (_PHP_TAG, "php-open-tag", CRITICAL),
    (_PHP_SERIALIZED, "php-object", CRITICAL),
]
_PHP_CALLS: list[Rule] = [
    (re.compile(r"phpinfo\s*\(\s*\)"), "php-function", CRITICAL),
    (_PHP_CALL_STRONG, "php-function", CRITICAL),
    (_PHP_CALL, "php-function", WARNING),
]
_PHP_SUPERGLOBALS: list[Rule] = [
    (_PHP_GLOBAL_INDEX, "php-superglobal", CRITICAL),
    (_PHP_GLOBALS, "php-superglobal", ERROR),
]


def php(lowered: str) -> list[Hit]:
    return (
        scan(lowered, "php", _PHP)
        + first(lowered, "php", _PHP_CALLS)
        + first(lowered, "php", _PHP_SUPERGLOBALS)
    )


# --------------------------------------------------------------------------- Java

_LOOKUP_FOLD = re.compile(r"\$\{(?:lower|upper|::-|[a-z0-9_.]*:[^{}$]*?:-)([^{}$]*)\}")
_JNDI = re.compile(r"\$\{\s*(?:jndi|ldaps?|rmi|dns|iiop|corba|nds|nis|http)\s*:")
_LOOKUP = re.compile(
    r"\$\{\s*(?:env|sys|java|ctx|main|date|bundle|k8s|docker|web|spring|log4j|sd|map|marker"
    r"|event|jvmrunargs|base64|upper|lower)\s*:"
)
_JAVA: list[Rule] = [
    (
        re.compile(
            r"java\.lang\.(?:runtime|processbuilder|reflect|class|system)|javax\.(?:naming|script)"
        ),
        "java-class",
        CRITICAL,
    ),
    (
        re.compile(
            r"getruntime\s*\(\s*\)|\.exec\s*\(|processbuilder\s*\(|\.forname\s*\(|\.getclass\s*\(\s*\)\s*\."
        ),
        "java-exec",
        CRITICAL,
    ),
    (
        re.compile(
            r"org\.apache\.commons\.collections|com\.sun\.(?:org\.apache|rowset|jndi)|ysoserial|org\.springframework\.(?:context|beans)\.|bsh\.interpreter|groovy\.lang"
        ),
        "java-gadget",
        CRITICAL,
    ),
    (re.compile(r"[\"']@type[\"']\s*:|[\"']@class[\"']\s*:"), "java-polymorphic-json", CRITICAL),
    (
        re.compile(
            r"#_memberaccess|@ognl|ognlcontext|#context\s*\[|%\{\s*\(?#|\(#\w+\s*=|@java\.lang\.\w+@"
        ),
        "java-ognl",
        CRITICAL,
    ),
    (re.compile(r"\bt\s*\(\s*java\.|#\{\s*t\s*\(|new\s+java\.\w"), "java-spel", CRITICAL),
    (
        re.compile(
            r"class\.(?:module\.)?classloader|classloader\.(?:resources|urls)|spring\.cloud\.function\.routing-expression"
        ),
        "java-spring",
        CRITICAL,
    ),
]
_JAVA_SERIAL = re.compile(r"ro0ab|aced0005|\xac\xed\x00\x05")


def java(lowered: str) -> list[Hit]:
    hits: list[Hit] = []
    if "${" in lowered:
        folded = lowered
        for _ in range(8):  # ${${lower:j}ndi:…}, ${${::-j}${::-n}di:…}
            nxt = _LOOKUP_FOLD.sub(lambda m: m.group(1), folded)
            if nxt == folded:
                break
            folded = nxt
        if _JNDI.search(folded) or _JNDI.search(lowered.replace(" ", "")):
            hits.append(Hit("java-jndi", "java", CRITICAL))
        elif _LOOKUP.search(lowered):
            hits.append(Hit("java-lookup", "java", CRITICAL))
    if _JAVA_SERIAL.search(lowered):
        hits.append(Hit("java-serialized", "java", CRITICAL))
    return hits + scan(lowered, "java", _JAVA)


def log4shell(lowered: str) -> list[Hit]:
    """Only the lookup rules: cheap enough for every header."""
    return (
        [h for h in java(lowered) if h.rule in ("java-jndi", "java-lookup")]
        if "${" in lowered
        else []
    )


# --------------------------------------------------------------------------- templates (SSTI)

_DELIMITED = re.compile(
    r"(\{\{|\{%|\$\{\{?|#\{|\*\{|@\{|<%=?|\[\[|\{#)\s*(.{0,200}?)\s*(\}\}|%\}|\}|%>|\]\]|#\})",
    re.DOTALL,
)
_ARITH = re.compile(r"^[\s('\"=\-]*\d+[\s'\"]*[*+\-/%][\s'\"]*\d+[\s)'\"]*$")
_DUNDER = re.compile(
    r"__(?:class|mro|subclasses|globals|builtins|init|import|base|bases|dict|getattribute"
    r"|reduce|code|func_globals|loader|spec)__"
)
_TEMPLATE_DANGER = re.compile(
    r"\b(?:config|self|request|lipsum|cycler|joiner|namespace|url_for|get_flashed_messages"
    r"|constructor|getclass|runtime|popen|subprocess|import|forname|processbuilder|freemarker"
    r"|execute|smarty|application|session|settings|environ|os\.|system\s*\(|exec\s*\("
    r"|eval\s*\(|file\.|io\.|open\s*\(|_self|dump\s*\(|getfilter|registerundefined)"
    r"|\|\s*(?:attr|filter|map|sort|reduce)\b|\[\s*['\"]_|\$class\b"
)
_STATEMENT = re.compile(
    r"^(?:import|include|extends|set|for|if|macro|raw|debug|print|block|call|from)\b"
)
_STATEMENT_DANGER = re.compile(r"^(?:import|include|extends|debug|from)\b")
_POLYGLOT_OPENERS = ("${", "{{", "<%", "[%", "#{", "*{")
_BARE_BRACES = re.compile(r"\{\s*\d+\s*[*+\-/]\s*\d+\s*\}")  # Smarty {7*7}
_RAZOR = re.compile(r"@\(\s*\d+\s*[*+\-/]\s*\d+\s*\)")
_TEMPLATE_ENGINES = re.compile(
    r"<#assign|\?new\s*\(|freemarker\.template|#set\s*\(\s*\$|\$class\.inspect|\{php\}|\{/php\}"
    r"|\{system\s*\(|\{self::|\{\$smarty\.|\{\{#with\b|#foreach\s*\(|\bobject\.constructor"
)


def ssti(lowered: str) -> list[Hit]:
    hits: list[Hit] = []
    if sum(opener in lowered for opener in _POLYGLOT_OPENERS) >= 3:
        hits.append(Hit("ssti-polyglot", "ssti", CRITICAL))
    if _BARE_BRACES.search(lowered):
        hits.append(Hit("ssti-expression", "ssti", CRITICAL))
    if "@(" in lowered and _RAZOR.search(lowered):
        hits.append(Hit("ssti-expression", "ssti", CRITICAL))
    if _DUNDER.search(lowered):
        hits.append(Hit("ssti-python-object", "ssti", CRITICAL))
    if _TEMPLATE_ENGINES.search(lowered):
        hits.append(Hit("ssti-engine", "ssti", CRITICAL))
    for m in _DELIMITED.finditer(lowered):
        inner = m.group(2)
        nested = _DELIMITED.search(inner + m.group(3))  # [[${7*7}]]
        if nested is not None:
            inner = nested.group(2)
        if _ARITH.match(inner) or _TEMPLATE_DANGER.search(inner):
            hits.append(Hit("ssti-expression", "ssti", CRITICAL))
        elif m.group(1) == "{%" and _STATEMENT_DANGER.match(inner):
            hits.append(Hit("ssti-statement", "ssti", CRITICAL))
        elif m.group(1) == "{%" and _STATEMENT.match(inner):
            hits.append(Hit("ssti-statement", "ssti", WARNING))
        elif re.search(r"[()\[\]'\"]", inner):
            hits.append(Hit("ssti-call", "ssti", NOTICE))
    return hits


# --------------------------------------------------------------------------- XML in fields

_XML: list[Rule] = [
    (re.compile(r"<!doctype\s+[^>]*(?:\[|\bsystem\b|\bpublic\b)"), "xml-doctype", CRITICAL),
    (re.compile(r"<!entity\b"), "xml-entity", CRITICAL),
    (re.compile(r"<xi:include\b|xmlns:xi\s*=|xinclude"), "xml-xinclude", CRITICAL),
    (
        re.compile(r"<xsl:(?:stylesheet|transform)\b|xmlns:xsl\s*=|msxsl:script"),
        "xml-xslt",
        CRITICAL,
    ),
    (re.compile(r"<xsl:"), "xml-xslt", ERROR),
]


def xml(lowered: str) -> list[Hit]:
    if "<" not in lowered and "xinclude" not in lowered:
        return []
    return scan(lowered, "xml", _XML)
