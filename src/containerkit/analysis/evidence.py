"""Helpers that find things in files and say where: each conclusion carries file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from containerkit.analysis.models import Evidence
from containerkit.analysis.walk import Tree

SECRET_NAME = re.compile(r"(PASS|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|AUTH|_KEY$|^KEY$|DATABASE_URL|_DSN$|CONNECTION_STRING)")
HEALTH_ROUTE = re.compile(r"""["'](/(?:health|healthz|healthcheck|health-check|ready|readyz|readiness|livez|liveness|ping|status))/?["']""")


@dataclass
class Finding:
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


def search(tree: Tree, files: list[str], pattern: re.Pattern[str], group: int | str = 1) -> list[Finding]:
    found = []
    for rel in files:
        for number, line in enumerate(tree.lines(rel), 1):
            for match in pattern.finditer(line):
                found.append(Finding(match.group(group), rel, number, line.strip()))
    return found


def first(tree: Tree, files: list[str], pattern: re.Pattern[str], group: int | str = 1) -> Finding | None:
    for rel in files:
        for number, line in enumerate(tree.lines(rel), 1):
            match = pattern.search(line)
            if match:
                return Finding(match.group(group), rel, number, line.strip())
    return None


def split_env(names: set[str]) -> tuple[list[str], list[str]]:
    names = {n for n in names if re.fullmatch(r"[A-Z_][A-Z0-9_]*", n) and n != "PORT"}
    secret = sorted(n for n in names if SECRET_NAME.search(n))
    return sorted(names - set(secret)), secret


def rel_in(service_dir: str, rel: str) -> str:
    """Path of ``rel`` relative to the service directory."""
    if service_dir in ("", "."):
        return rel
    return rel[len(service_dir) + 1:]


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
