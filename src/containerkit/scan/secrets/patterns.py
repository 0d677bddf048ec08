"""Secret rules and line matching. Only masked forms of matches ever leave this module."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from containerkit.redaction import TOKEN_SHAPES, register_secret


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    pattern: re.Pattern[str]
    group: int = 0
    min_entropy: float = 0.0


RULES: tuple[Rule, ...] = (
    Rule(
        "private-key",
        "Private key (PEM/OpenSSH/PGP)",
        re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
    ),
    Rule(
        "gcp-service-account",
        "Google Cloud service-account key (JSON private_key)",
        re.compile(r'"private_key"\s*:\s*"(-----BEGIN PRIVATE KEY-----[^"]{20,})"'),
        group=1,
    ),
    Rule("aws-access-key-id", "AWS access key id", re.compile(rf"\b({TOKEN_SHAPES['aws-access-key-id']})\b"), group=1),
    Rule(
        "aws-secret-access-key",
        "AWS secret access key",
        re.compile(r"(?i)aws_?secret_?access_?key\s*[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),
        group=1,
    ),
    Rule(
        "azure-storage-key",
        "Azure storage account key (connection string)",
        re.compile(r"AccountKey=([A-Za-z0-9+/]{86}==)"),
        group=1,
    ),
    Rule(
        "azure-sas-signature",
        "Azure shared access signature",
        re.compile(r"(?:SharedAccessSignature=|[?&])sig=([A-Za-z0-9%+/]{43,}(?:%3D|=)*)"),
        group=1,
    ),
    Rule(
        "azure-client-secret",
        "Azure AD client secret",
        re.compile(
            r"(?i)(?:azure|client)_?secret\s*[\"']?\s*[:=]\s*[\"']([A-Za-z0-9_~.-]{3}8Q~[A-Za-z0-9_~.-]{31,34})[\"']"
        ),
        group=1,
    ),
    Rule("github-token", "GitHub token", re.compile(rf"\b({TOKEN_SHAPES['github-token']})\b"), group=1),
    Rule(
        "github-fine-grained-token",
        "GitHub fine-grained personal access token",
        re.compile(rf"\b({TOKEN_SHAPES['github-fine-grained-token']})\b"),
        group=1,
    ),
    Rule("gitlab-token", "GitLab personal access token", re.compile(rf"\b({TOKEN_SHAPES['gitlab-token']})\b"), group=1),
    Rule("slack-token", "Slack token", re.compile(rf"\b({TOKEN_SHAPES['slack-token']})\b"), group=1),
    Rule("stripe-live-key", "Stripe live secret key", re.compile(rf"\b({TOKEN_SHAPES['stripe-live-key']})\b"), group=1),
    Rule("npm-token", "npm access token", re.compile(rf"\b({TOKEN_SHAPES['npm-token']})\b"), group=1),
    Rule(
        "url-credentials",
        "Password in a URL (scheme://user:password@host)",
        re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'"<>]+:([^\s@/'"<>]{4,})@[\w.-]+"""),
        group=1,
        min_entropy=1.5,
    ),
    Rule(
        "generic-password",
        "Hard-coded password/secret assignment",
        re.compile(
            r"""(?i)\b[\w.-]*(?:password|passwd|pwd|secret|api_?key|access_?token|auth_?token)\b["']?\s*[:=]\s*["']([^"'\s]{8,})["']"""
        ),
        group=1,
        min_entropy=3.0,
    ),
)

#: NAME=value without quotes, as image configuration holds it (ENV, labels, build arguments in history lines)
ASSIGNMENT = Rule(
    "secret-assignment",
    "Secret-named variable with a value (image configuration)",
    re.compile(
        r"""(?i)(?:^|[\s"'|])([\w.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api_?key|access_?key|private_?key|credentials?)"""
        r"""[\w.-]*)[ \t]*=[ \t]*["']?([^\s"']{8,})"""
    ),
    group=2,
    min_entropy=3.0,
)
#: ``password: value`` unquoted in YAML (quoted values are the generic rule's)
YAML_SECRET = Rule(
    "yaml-secret",
    "Secret-named YAML key with a literal value",
    re.compile(
        r"""(?i)^\s*-?\s*[\w.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api_?key|access_?key|private_?key)"""
        r"""[\w.-]*\s*:\s+([^\s"'#&*|>{\[][^\s#]{7,})\s*(?:#.*)?$"""
    ),
    group=1,
    min_entropy=3.0,
)
_KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/=]{16,}")
_PEM_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----")

_PLACEHOLDERS = re.compile(
    r"(?i)^(?:\$\{?[\w:-]+\}?|\$\{\{.*\}\}|<[^>]+>|\{\{.*\}\}|%\(?\w+\)?s?|changeme|change_me|password\d*|example\w*|"
    r"secret|x+|\*+|dummy\w*|test\w*|your[\w-]*|placeholder|null|none|redacted)$"
)


@dataclass(frozen=True)
class LineMatch:
    rule: Rule
    line: int
    masked: str
    #: the raw value, only to tell duplicates apart inside this module (never put in a finding)
    value: str = field(default="", repr=False, compare=False)


def mask(value: str) -> str:
    """First 4 characters, then a fixed mask (the length is not revealed)."""
    return value[:4] + "********"


def shannon_entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values()) if value else 0.0


def has_key_material(lines: list[str], header: int) -> bool:
    """The lines after a ``BEGIN … PRIVATE KEY`` header carry real key material: base64 (at least 64 characters before
    the END line) that is not a documentation placeholder such as ``XXXX…`` or ``...``."""
    material = []
    for line in lines[header + 1 : header + 60]:
        if _PEM_END.search(line):
            break
        material.extend(_KEY_MATERIAL.findall(line))
    body = "".join(material)
    return len(body) >= 64 and len(set(body.upper())) >= 16 and shannon_entropy(body) >= 4.0


def scan_text(text: str, *, generic: bool = True, rules: tuple[Rule, ...] | None = None) -> Iterator[LineMatch]:
    """Every rule match in ``text`` with its 1-based line; each value is registered for redaction and masked.

    ``generic=False`` skips the entropy-based password rule (for third-party code, whose docstrings are full of
    examples).
    A private-key header counts only with real key material after it (:func:`has_key_material`).
    """
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if len(line) > 20000:
            line = line[:20000]
        found: list[LineMatch] = []
        for rule in rules or RULES:
            if rule.min_entropy and not generic:
                continue
            for m in rule.pattern.finditer(line):
                value = m.group(rule.group)
                if rule.min_entropy and (_PLACEHOLDERS.match(value) or shannon_entropy(value) < rule.min_entropy):
                    continue
                if rule.id == "private-key" and not has_key_material(lines, number - 1):
                    continue
                if any(value in f.value or f.value in value for f in found if f.value):
                    continue  # the same secret, already found by a more specific rule (rules run most specific first)
                if rule.id != "private-key":
                    register_secret(value)
                found.append(
                    LineMatch(
                        rule=rule, line=number, masked=mask(value), value=value if rule.id != "private-key" else ""
                    )
                )
        if any(f.rule.id == "gcp-service-account" for f in found):  # the embedded PEM header is the same secret
            found = [f for f in found if f.rule.id != "private-key"]
        yield from found


def looks_binary(head: bytes) -> bool:
    return b"\x00" in head[:8192]
