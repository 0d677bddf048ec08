"""Secrets in a build context directory, with .dockerignore applied to say what the build would receive."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from containerkit import dockerignore
from containerkit.scan.models import SecretFinding, SecretScanReport
from containerkit.scan.secrets.patterns import ASSIGNMENT, RULES, YAML_SECRET, Rule, looks_binary, scan_text

MAX_FILE_BYTES = 2 * 1024 * 1024
_SKIP_DIRS = {".git", ".hg", ".svn"}
_ENV_FILE = re.compile(r"(?i)^(?:\.env(?:\..*)?|.*\.env|.*\.(?:properties|ini|cfg|conf))$")
#: names a .dockerignore must exclude so environment files never reach the build
ENV_PROBES = (".env", ".env.local", ".env.production")


def rules_for(name: str) -> tuple[Rule, ...]:
    """Environment and properties files hold ``NAME=value`` unquoted; YAML holds ``password: value`` unquoted."""
    if _ENV_FILE.match(name):
        return (*RULES, ASSIGNMENT)
    if name.lower().endswith((".yaml", ".yml")):
        return (*RULES, YAML_SECRET)
    return RULES


def scan_context(root: Path) -> SecretScanReport:
    """Every secret under ``root`` (symlinks not followed), each marked with whether the build would send it."""
    patterns = dockerignore.read(root)
    excluded = dockerignore.excluder(patterns)
    findings: list[SecretFinding] = []
    scanned = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
            if looks_binary(data):
                continue
            scanned += 1
            rel = path.relative_to(root).as_posix()
            sent = not excluded(rel)
            for m in scan_text(data.decode("utf-8", errors="replace"), rules=rules_for(name)):
                findings.append(
                    SecretFinding(
                        rule=m.rule.id,
                        description=m.rule.description,
                        file=rel,
                        line=m.line,
                        masked=m.masked,
                        in_build_context=sent,
                    )
                )
    return SecretScanReport(
        target=str(root),
        kind="context",
        files_scanned=scanned,
        findings=findings,
        dockerignore=patterns is not None,
        summary=_summary(str(root), findings),
        warnings=_dockerignore_warnings(patterns, excluded),
    )


def _dockerignore_warnings(patterns: list[str] | None, excluded: Callable[[str], bool]) -> list[str]:
    if patterns is None:
        return [
            "no .dockerignore: every file, .env files included, is sent to the build (and `COPY . .` puts it in the "
            "image)"
            " — add one that lists .env and .env.*"
        ]
    sent = [name for name in ENV_PROBES if not excluded(name)]
    if sent:
        return [
            f".dockerignore does not exclude {', '.join(sent)}: environment files would be sent to the build (and "
            "`COPY . .` puts them in the image) — add `.env` and `.env.*` to it"
        ]
    return []


def _summary(target: str, findings: list[SecretFinding]) -> str:
    if not findings:
        return f"{target}: no secrets found."
    sent = sum(1 for f in findings if f.in_build_context)
    return (
        f"{target}: {len(findings)} secret(s) in {len({f.file for f in findings})} file(s); {sent} would be sent to "
        "the build "
        "— remove them, rotate them, and list the files in .dockerignore; pass build secrets with --secret."
    )
