"""Secrets in a build context directory, with .dockerignore applied to say what the build would receive."""

from __future__ import annotations

import os
from pathlib import Path

from docker.utils.build import PatternMatcher

from containerkit.scan.models import SecretFinding, SecretScanReport
from containerkit.scan.secrets.patterns import looks_binary, scan_text

MAX_FILE_BYTES = 2 * 1024 * 1024
_SKIP_DIRS = {".git", ".hg", ".svn"}


def read_dockerignore(root: Path) -> list[str] | None:
    path = root / ".dockerignore"
    if not path.is_file():
        return None
    patterns = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            patterns.append(line.lstrip("/") if not line.startswith("!") else "!" + line[1:].lstrip("/"))
    return patterns


def scan_context(root: Path) -> SecretScanReport:
    """Every secret under ``root`` (symlinks not followed), each marked with whether the build would send it."""
    patterns = read_dockerignore(root)
    matcher = PatternMatcher(patterns) if patterns else None
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
            sent = not (matcher is not None and matcher.matches(rel))
            for m in scan_text(data.decode("utf-8", errors="replace")):
                findings.append(SecretFinding(rule=m.rule.id, description=m.rule.description, file=rel, line=m.line, masked=m.masked,
                                              in_build_context=sent))
    return SecretScanReport(target=str(root), kind="context", files_scanned=scanned, findings=findings,
                            dockerignore=patterns is not None, summary=_summary(str(root), findings))


def _summary(target: str, findings: list[SecretFinding]) -> str:
    if not findings:
        return f"{target}: no secrets found."
    sent = sum(1 for f in findings if f.in_build_context)
    return (f"{target}: {len(findings)} secret(s) in {len({f.file for f in findings})} file(s); {sent} would be sent to the build "
            "— remove them, rotate them, and list the files in .dockerignore; pass build secrets with --secret.")
