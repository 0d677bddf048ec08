"""One table for the findings of every policy gate (lint, manifest validation): columns by what they carry."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from containerkit.findings import Finding

_SEV = {"error": "red", "warning": "yellow", "info": "cyan", "style": "dim"}


def render_findings(out: Console, findings: list[Finding], title: str) -> None:
    if not findings:
        out.print(Text(f"{title}: no findings", "green"))
        return
    in_files = any(f.file for f in findings)
    on_objects = any(f.kind for f in findings)
    table = Table(title=title)
    for col in (
        "file:line" if in_files else "line",
        *(("object",) if on_objects else ()),
        "rule",
        "severity",
        "message",
        "fix",
    ):
        table.add_column(col, overflow="fold")
    for f in findings:
        where = (f"{f.file}:{f.line}" if f.line else f.file or "-") if in_files else str(f.line or "-")
        cells = [where, *([f"{f.kind}/{f.name}"] if on_objects else []), f.rule]
        table.add_row(*cells, Text(f.severity, _SEV[f.severity]), f.message, f.fix)
    out.print(table)
