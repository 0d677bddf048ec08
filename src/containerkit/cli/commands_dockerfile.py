"""`containerkit dockerfile PATH` and `containerkit lint [PATH]`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from containerkit.cli.findings import render_findings
from containerkit.cli.params import tool_options
from containerkit.cli.runner import invoke

if TYPE_CHECKING:
    from containerkit.tools.dockerfile import GenerateResult, ValidateDockerfileResult


def _render_generated(out: Console, r: GenerateResult) -> None:
    if r.existing_dockerfile and not r.written:
        render_findings(out, r.findings, "existing Dockerfile: suggested improvements")
        out.print(
            Text.assemble(
                ("Suggested Dockerfile", "bold"), " (not written; pass --force --write to replace the existing one):"
            )
        )
    out.print(Syntax(r.dockerfile, "docker", background_color="default"))
    out.print(
        f"base image: {r.base_image}   user uid: {r.user_uid}   port: {r.port or '-'}   healthcheck: "
        f"{'yes' if r.healthcheck else 'no'}"
    )
    for path in r.written:
        out.print(Text.assemble(("wrote", "green"), f" {path}"))
    for w in r.warnings:
        out.print(Text.assemble(("warning:", "yellow"), f" {w}"))


def _render_lint(out: Console, r: ValidateDockerfileResult) -> None:
    render_findings(out, r.findings, f"{r.dockerfile}: {r.errors} error(s), {r.warnings} warning(s)")


def register(app: typer.Typer) -> None:
    @app.command("dockerfile")
    @tool_options("generate_dockerfile")
    def dockerfile(
        path: str = typer.Argument(".", help="Repository path or git URL."),
        service: str = typer.Option(None, "--service", help="Service path in a monorepo."),
        write: bool = typer.Option(False, "--write", help="Write Dockerfile and .dockerignore."),
        force: bool = typer.Option(False, "--force", help="Replace an existing Dockerfile."),
        pin: bool = typer.Option(False, "--pin", help="Pin base images by digest (registry must be reachable)."),
        buildkit: bool = typer.Option(False, "--buildkit", help="Use BuildKit cache mounts."),
        port: int = typer.Option(None, "--port", help="Override the detected port."),
        as_json: bool = typer.Option(False, "--json", help="Print the tool's result model as JSON."),
        derived: dict[str, object] | None = None,
    ) -> None:
        """Generate a best-practice Dockerfile (or validate the existing one)."""
        invoke(
            "generate_dockerfile",
            {
                "path": path,
                "service": service,
                "write": write,
                "force": force,
                "pin": pin,
                "buildkit": buildkit,
                "port": port,
                **(derived or {}),
            },
            as_json=as_json,
            render=_render_generated,
        )

    @app.command("lint")
    @tool_options("validate_dockerfile")
    def lint(
        path: str = typer.Argument(".", help="A Dockerfile or a directory containing one."),
        port: int = typer.Option(None, "--port", help="The port the app listens on (checks EXPOSE)."),
        policy: str = typer.Option(
            None,
            "--policy",
            help="Directory of Rego policies (conftest's conventions) checked beside the built-in rules.",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the tool's result model as JSON."),
        derived: dict[str, object] | None = None,
    ) -> None:
        """hadolint plus Container Kit's own rules (and your Rego policies); exits 1 when there are errors."""
        result = invoke(
            "validate_dockerfile",
            {"path": path, "port": port, "policy": policy, **(derived or {})},
            as_json=as_json,
            render=_render_lint,
        )
        if not result.valid:
            raise typer.Exit(code=1)
