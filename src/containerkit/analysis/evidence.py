"""Helpers that find things in files and say where: each conclusion carries file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from containerkit.analysis.models import Evidence
from containerkit.analysis.walk import Tree

SECRET_NAME = re.compile(
    r"(PASS|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|AUTH|_KEY$|^KEY$|DATABASE_URL|_DSN$|CONNECTION_STRING)"
)
HEALTH_ROUTE = re.compile(
    r"""["'](/(?:health|healthz|healthcheck|health-check|ready|readyz|readiness|livez|liveness|ping|status))/?["']"""
)


@dataclass
class Match:
    value: str
    file: str
    line: int
    text: str


@dataclass
class Collector:
    """Accumulates evidence while a detector works."""

    evidence: list[Evidence] = field(default_factory=list)

    def add(self, field_name: str, file: str, detail: str, line: int | None = None) -> None:
        self.evidence.append(Evidence(field=field_name, file=file, line=line, detail=detail[:200]))


def search(tree: Tree, files: list[str], pattern: re.Pattern[str], group: int | str = 1) -> list[Match]:
    found = []
    for rel in files:
        for number, line in enumerate(tree.lines(rel), 1):
            for match in pattern.finditer(line):
                found.append(Match(match.group(group), rel, number, line.strip()))
    return found


def first(tree: Tree, files: list[str], pattern: re.Pattern[str], group: int | str = 1) -> Match | None:
    for rel in files:
        for number, line in enumerate(tree.lines(rel), 1):
            match = pattern.search(line)
            if match:
                return Match(match.group(group), rel, number, line.strip())
    return None


def split_env(names: set[str]) -> tuple[list[str], list[str]]:
    names = {n for n in names if re.fullmatch(r"[A-Z_][A-Z0-9_]*", n) and n != "PORT"}
    secret = sorted(n for n in names if SECRET_NAME.search(n))
    return sorted(names - set(secret)), secret


def rel_in(service_dir: str, rel: str) -> str:
    """Path of ``rel`` relative to the service directory."""
    if service_dir in ("", "."):
        return rel
    return rel[len(service_dir) + 1 :]


def major_minor(spec: str | None, parts: int = 2) -> str | None:
    """'>=3.11,<4' -> '3.11'; 'python-3.12.1' -> '3.12'; '^18.2' -> '18' (parts=1)."""
    if not spec:
        return None
    match = re.search(r"(\d+)(?:\.(\d+))?", spec)
    if not match:
        return None
    if parts == 1 or match.group(2) is None:
        return match.group(1)
    return f"{match.group(1)}.{match.group(2)}"


#: a listening address written into the code as the loopback address: unreachable from outside the container
LOOPBACK_BIND = re.compile(
    r"""(?:TcpListener::bind|\.bind|ListenAndServe(?:TLS)?|net\.Listen)\(\s*&?\s*(?:format!\(\s*)?"""
    r"""(?:"tcp",\s*)?["'](127\.0\.0\.1|localhost)[:"']"""
    r"""|\.listen\(\s*[\w.]+\s*,\s*["'](127\.0\.0\.1|localhost)["']"""
)


TEST_FILE = re.compile(
    r"(^|/)(tests?|spec|examples?|benches|testdata|__tests__)/|(_test\.go|\.(test|spec)\.[cm]?[jt]s)$"
)


def loopback_warnings(tree: Tree, sources: list[str]) -> list[str]:
    """One warning per source line (tests aside) that binds the loopback address literally."""
    sources = [f for f in sources if not TEST_FILE.search(f)]
    return [
        f"{f.file}:{f.line} binds {'127.0.0.1' if '127.0.0.1' in f.value else 'localhost'} ({f.text[:80]}): nothing "
        "outside the container can reach it; make it bind 0.0.0.0 (all interfaces) or read the address from a setting"
        for f in search(tree, sources, LOOPBACK_BIND, 0)
        if not f.text.lstrip().startswith(("//", "#"))
    ]
