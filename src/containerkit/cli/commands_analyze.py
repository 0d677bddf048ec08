"""`containerkit analyze PATH`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from containerkit.cli.params import tool_options
from containerkit.cli.runner import invoke, print_json

if TYPE_CHECKING:
    from containerkit.tools.analysis import AnalyzeResult


def render_analysis(out: Console, result: AnalyzeResult) -> None:
    analysis = result.analysis
    title = (
        f"{analysis.path} — {len(analysis.services)} service(s), {analysis.files_scanned} files, "
        f"{analysis.duration_ms:.0f} ms"
    )
    table = Table(title=title)
    for col in ("path", "language", "version", "framework", "packages", "port", "health", "start"):
        table.add_column(col)
    for s in analysis.services:
        port = f"{s.port}{' ($PORT)' if s.reads_port_env else ''}" if s.port else "-"
        table.add_row(
            s.path,
            s.language,
            s.language_version or "-",
            s.framework or "-",
            f"{s.package_manager or '-'}{' (' + s.lockfile + ')' if s.lockfile else ''}",
            port,
            s.health_path or "-",
            " ".join(s.start_command or []) or "-",
        )
    out.print(table)
    for s in analysis.services:
        extras = []
        if s.env_vars.config or s.env_vars.secret:
            extras.append(f"env: {', '.join(s.env_vars.config) or '-'}; secrets: {', '.join(s.env_vars.secret) or '-'}")
        if s.backing_services:
            extras.append(f"backing services: {', '.join(s.backing_services)}")
        if extras:
            out.print(Text.assemble((s.path, "bold"), " " + " | ".join(extras)))
    for note in analysis.skipped[:5]:
        out.print(Text(f"skipped {note}", "dim"))


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    @tool_options("analyze_repository")
    def analyze(
        path: str = typer.Argument(..., help="Repository path or git URL."),
        branch: str = typer.Option(None, "--branch", help="Branch or tag to clone (git URLs)."),
        as_json: bool = typer.Option(
            False, "--json", help='Print {"path": …, "services": [ … ]} (the RepoAnalysis document).'
        ),
        derived: dict[str, object] | None = None,
    ) -> None:
        """Detect services, languages, frameworks, ports and how to run them."""
        result = invoke(
            "analyze_repository",
            {"path": path, "branch": branch, **(derived or {})},
            as_json=False,
            render=render_analysis,
            quiet=as_json,
        )
        if as_json:
            print_json(result.analysis.model_dump(mode="json"))
