"""`containerkit containerize PATH`: the main job."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

from containerkit.cli.commands_workflow import APPLY_FIXES_HELP, _live, _show_failed_steps, render_steps
from containerkit.cli.params import tool_options
from containerkit.cli.runner import invoke

if TYPE_CHECKING:
    from containerkit.workflow.containerize import ContainerizeResult
    from containerkit.workflow.many import ManyResult


def _render(out: Console, result: ContainerizeResult) -> None:
    render_steps(out, result.steps, f"containerize — run {result.run_id}: {result.status}")
    for step in result.skipped:
        out.print(Text(f"skipped {step.id}: {step.reason}", "dim"))
    report = result.report
    for svc in report.detected:
        out.print(
            Text.assemble(
                "detected ",
                (svc.path, "bold"),
                f": {svc.language} {svc.framework or ''} on port {svc.port or '-'}",
            )
        )
    for path in report.files_written:
        out.print(f"wrote {path}")
    if report.image is not None:
        out.print(f"image: {report.image.image_id[:19]} {', '.join(report.image.tags)}")
    if report.secrets is not None:
        if report.secrets.found:
            out.print(Text(f"warning: {report.secrets.summary}", "yellow"))
        for warning in report.secrets.warnings:
            out.print(Text(f"warning: {warning}", "yellow"))
    if report.scan is not None:
        out.print(f"scan: {report.scan.summary}")
    if report.push is not None:
        out.print(f"pushed: {report.push.reference} {report.push.digest or ''}")
    if report.manifests is not None:
        out.print(f"manifests: {report.manifests.out_dir}")
    out.print(f"report: containerkit sessions show {result.session_id}  (artifacts containerize-report.md/.json)")


def _render_many(out: Console, result: ManyResult) -> None:
    from rich.table import Table

    table = Table(title=f"containerize-many: {result.succeeded} succeeded, {result.failed} failed of {result.total}")
    columns = ["repository", "outcome", "image", "size", "findings", "time"]
    for column in [*columns, *(["why it failed"] if result.failed else [])]:
        table.add_column(column, overflow="fold")
    for repo in result.repos:
        size = f"{repo.size_bytes / 1e6:.0f} MB" if repo.size_bytes else "-"
        findings = ", ".join(f"{n} {sev}" for sev, n in repo.findings.items()) or "-"
        style = "green" if repo.outcome == "succeeded" else "red"
        table.add_row(
            repo.target if "://" in repo.target or repo.target.startswith("git@") else Path(repo.target).name,
            Text(repo.outcome, style),
            repo.image or "-",
            size,
            findings,
            f"{repo.duration_s:.0f} s",
            *([repo.failure or ""] if result.failed else []),
        )
    out.print(table)
    if result.already_done:
        out.print(Text(f"{result.already_done} finished in an earlier run: kept from the report", "dim"))
    out.print(f"report: {result.report_path}")


def register(app: typer.Typer) -> None:
    @app.command("containerize-many")
    @tool_options("containerize_many")
    def containerize_many(
        source: str = typer.Argument(..., help="A file of repository paths or git URLs, or a directory of checkouts."),
        parallel: int = typer.Option(2, "--parallel", "-p", help="Repositories containerized at the same time."),
        report: str = typer.Option(None, "--report", help="JSON report (run again with it to skip finished ones)."),
        retry_failed: bool = typer.Option(False, "--retry-failed", help="Run the failed ones of the report again."),
        registry: str = typer.Option(None, "--registry", help="Registry to push every image to."),
        tag: str = typer.Option("latest-build", "--tag", help="Image tag."),
        until: str = typer.Option(None, "--until", help="Stop each pipeline after this step."),
        as_json: bool = typer.Option(False, "--json", help="Print the tool's result model as JSON."),
        derived: dict[str, object] | None = None,
    ) -> None:
        """The containerize pipeline over many repositories, a few at a time; resumable through its report."""
        params = {
            "source": source,
            "parallel": parallel,
            "report": report,
            "retry_failed": retry_failed,
            "registry": registry,
            "tag": tag,
            "until": until,
            **(derived or {}),
        }
        result = invoke(
            "containerize_many", params, as_json=as_json, render=_render_many, progress_title="containerize-many"
        )
        if result.failed:
            raise typer.Exit(1)  # a CI job over many repositories fails when one of them does

    @app.command("containerize")
    @tool_options("containerize")
    def containerize(
        path: str = typer.Argument(..., help="Repository path or git URL."),
        service: str = typer.Option(None, "--service", help="Service path in a monorepo."),
        registry: str = typer.Option(None, "--registry", help="Registry to push to, e.g. 127.0.0.1:5001/team."),
        tag: str = typer.Option("latest-build", "--tag", help="Image tag."),
        name: str = typer.Option(None, "--name", help="Image name (default: the repository's name)."),
        deploy: bool = typer.Option(False, "--deploy", help="Deploy to Kubernetes and verify the rollout."),
        context: str = typer.Option(None, "--context", help="kubeconfig context."),
        allow_production: bool = typer.Option(
            False, "--allow-production", help="Deploy even to a context or namespace that looks like production."
        ),
        namespace: str = typer.Option("default", "--namespace", "-n"),
        fail_on: str = typer.Option("none", "--fail-on", help="Scan policy gate: none|low|medium|high|critical."),
        fail_on_secrets: str = typer.Option(
            "none", "--fail-on-secrets", help="Secret gate on the build context: none (warn)|shipped|any."
        ),
        until: str = typer.Option(None, "--until", help="Stop after this step."),
        apply_fixes: bool = typer.Option(False, "--apply-fixes", help=APPLY_FIXES_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the tool's result model as JSON."),
        derived: dict[str, object] | None = None,
    ) -> None:
        """Analyze → Dockerfile → lint → secrets → build → smoke test → scan → tag → push → manifests → deploy."""
        params = {
            "path": path,
            "service": service,
            "registry": registry,
            "tag": tag,
            "name": name,
            "deploy": deploy,
            "context": context,
            "allow_production": allow_production,
            "namespace": namespace,
            "fail_on": fail_on,
            "fail_on_secrets": fail_on_secrets,
            "until": until,
            "apply_fixes": apply_fixes,
            **(derived or {}),
        }
        invoke(
            "containerize",
            params,
            as_json=as_json,
            render=_render,
            live=_live(f"containerize {path}"),
            on_error=_show_failed_steps,
        )
