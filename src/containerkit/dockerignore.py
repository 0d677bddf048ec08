"""``.dockerignore``, read one way for every package: the build context (``engine.context``) and the secret scan of a
context (``scan.secrets.context``) must agree on what the build receives.

Matching uses docker-py's own matcher (Go's ``filepath.Match`` plus ``**`` and ``!`` exceptions, last match wins) —
the rules the engine applies, not a second copy of them. It is a pure function of the patterns: no engine access.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from docker.utils.build import PatternMatcher

FILE = ".dockerignore"


def read(root: Path) -> list[str] | None:
    """The patterns of ``root/.dockerignore`` as Docker reads them (comments and blank lines dropped), or None when
    there is no such file."""
    path = root / FILE
    if not path.is_file():
        return None
    out = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def excluder(patterns: list[str] | None) -> Callable[[str], bool]:
    """A test of a context-relative POSIX path: True when the patterns keep it out of the build context."""
    if not patterns:
        return lambda _path: False
    matcher = PatternMatcher(patterns)
    return lambda path: bool(matcher.matches(path))
