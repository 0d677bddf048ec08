"""Per-ecosystem detectors: each turns one service directory into a ServiceAnalysis."""

from __future__ import annotations

from dataclasses import dataclass

from containerkit.analysis.walk import Tree


@dataclass
class ServiceDir:
    path: str
    """Relative to the repository root; '' for the root."""
    files: list[str]
    """Repository-relative paths of this service's files (nested services excluded)."""

    def rel(self, name: str) -> str:
        return f"{self.path}/{name}" if self.path else name

    def has(self, tree: Tree, name: str) -> bool:
        return tree.exists(self.rel(name))

    def with_suffix(self, *suffixes: str, depth: int = 4) -> list[str]:
        base = self.path.count("/") + (1 if self.path else 0)
        return [f for f in self.files if f.endswith(suffixes) and f.count("/") - base < depth]

    def name(self, fallback: str) -> str:
        import re

        raw = (self.path.rsplit("/", 1)[-1] if self.path else fallback).lower()
        clean = re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")
        return clean[:50] or "app"
