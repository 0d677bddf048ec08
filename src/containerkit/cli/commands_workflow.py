"""`workflow run|validate|list|status|cancel|resume` commands."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from containerkit import yamlsafe
from containerkit.cli.live import WorkflowLiveView
from containerkit.cli.params import tool_options
from containerkit.cli.runner import err_console, invoke
from containerkit.errors import ContainerKitError, InvalidInputError

if TYPE_CHECKING:
    from containerkit.workflow.tools import ListRunsResult, RunResult, StepSummary, ValidateWorkflowResult


JSON_OPT = typer.Option(False, "--json", help="Print the tool's result model as JSON.")
APPLY_FIXES_HELP = (
    "Write failure fixes over files you wrote (your previous content is kept as an artifact); without it such a "
    "fix is stored as a proposal with a diff and the run stops there."
)
_STYLE = {"succeeded": "green", "failed": "red", "running": "yellow", "skipped": "dim", "cancelled": "magenta"}


def parse_inputs(pairs: list[str]) -> dict[str, object]:
    """`K=V` pairs; V is read as YAML so numbers, booleans and lists keep their type."""
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"input {pair!r} is not KEY=VALUE", hint="Example: --input registry=127.0.0.1:5001")
        try:
            out[key] = yamlsafe.load(value) if value else ""
        except yaml.YAMLError:
            out[key] = value
    return out


def render_steps(out: Console, steps: list[StepSummary], title: str) -> None:
    table = Table(title=title)
    for col in ("step", "tool", "state", "attempts", "time", "note"):
        table.add_column(col)
    for step in steps:
        table.add_row(
            step.id,
            step.tool,
            Text(step.status, _STYLE.get(step.status, "white")),
            str(step.attempts),
            f"{step.duration_s:.1f}s" if step.duration_s else "",
            step.error_code or step.reason or "",
        )
    out.print(table)


def _render_run(out: Console, result: RunResult) -> None:
    render_steps(out, result.steps, f"workflow {result.name} — run {result.run_id}: {result.status}")
    for event in result.events:
        if event.kind in ("route", "route_failed", "resume", "cancel"):
            out.print(f"  {event.kind} {event.step_id or ''} {event.detail}")


def _show_failed_steps(error: ContainerKitError) -> None:
    from pydantic import ValidationError

    from containerkit.workflow.tools import StepSummary

    steps = error.details.get("steps")
    if isinstance(steps, list):
        try:
            summaries = [StepSummary.model_validate(step) for step in steps]
        except ValidationError:
            return  # not a run's steps: the error line says enough
        render_steps(err_console, summaries, f"run {error.details.get('run_id', '')}")


def _live(title: str) -> Any:
    return lambda console: WorkflowLiveView(console, title)


#: what the CLI's SPEC argument stands for: the path of the YAML, never its text
SPEC_FILE = {"given": {"spec_path": "spec"}, "without": {"spec": "the CLI reads the YAML from the file SPEC"}}
#: a run id names its session
BY_RUN = {"session_id": "a run id names its session"}


def register(app: typer.Typer) -> None:
    wf = typer.Typer(help="Run and manage custom YAML workflows.", no_args_is_help=True)
    app.add_typer(wf, name="workflow")

    @wf.command("run")
    @tool_options(
        "execute_custom_workflow", given={**SPEC_FILE["given"], "session_id": "session"}, without=SPEC_FILE["without"]
    )
    def run(
        spec: str = typer.Argument(..., help="Workflow YAML file."),
        inputs: list[str] = typer.Option([], "--input", "-i", help="KEY=VALUE input (repeatable)."),
        max_parallel: int = typer.Option(None, "--max-parallel", help="Override the parallelism limit."),
        apply_fixes: bool = typer.Option(False, "--apply-fixes", help=APPLY_FIXES_HELP),
        session: str = typer.Option(None, "--session", help="Run in this session."),
        as_json: bool = JSON_OPT,
    ) -> None:
        """Validate and run a workflow; every step's state is stored as it changes."""
        try:
            parsed = parse_inputs(inputs)
        except ContainerKitError as e:
            from containerkit.cli.runner import fail

            fail(e)
        invoke(
            "execute_custom_workflow",
            {
                "spec_path": spec,
                "inputs": parsed,
                "max_parallel": max_parallel,
                "apply_fixes": apply_fixes,
                "session_id": session,
            },
            as_json=as_json,
            render=_render_run,
            live=_live(f"workflow {spec}"),
            on_error=_show_failed_steps,
        )

    @wf.command("validate")
    @tool_options(
        "validate_workflow", given=SPEC_FILE["given"], without={**SPEC_FILE["without"], "session_id": "checks a file"}
    )
    def validate(spec: str = typer.Argument(..., help="Workflow YAML file."), as_json: bool = JSON_OPT) -> None:
        """Check a workflow without running it."""
        result = invoke("validate_workflow", {"spec_path": spec}, as_json=as_json, render=_render_validation)
        if not result.valid:
            raise typer.Exit(code=1)

    @wf.command("list")
    @tool_options("list_workflow_runs", given={"session_id": "session"})
    def list_runs(
        session: str = typer.Option(None, "--session", help="Only runs of this session."),
        limit: int = typer.Option(50, "--limit"),
        as_json: bool = JSON_OPT,
    ) -> None:
        """Workflow runs, newest first."""
        invoke("list_workflow_runs", {"session_id": session, "limit": limit}, as_json=as_json, render=_render_runs)

    @wf.command("status")
    @tool_options("get_workflow_status", without=BY_RUN)
    def status(run_id: str, as_json: bool = JSON_OPT) -> None:
        """Every step's state, attempts, time and error; routing events."""
        invoke("get_workflow_status", {"run_id": run_id}, as_json=as_json, render=_render_run)

    @wf.command("cancel")
    @tool_options("cancel_workflow", without=BY_RUN)
    def cancel(run_id: str, as_json: bool = JSON_OPT) -> None:
        """Stop a running workflow (running steps cancelled, the rest marked cancelled)."""
        invoke(
            "cancel_workflow",
            {"run_id": run_id},
            as_json=as_json,
            render=lambda out, r: out.print(f"run {r.run_id}: {r.status}"),
        )

    @wf.command("resume")
    @tool_options("resume_workflow", without=BY_RUN)
    def resume(
        run_id: str,
        apply_fixes: bool = typer.Option(
            False,
            "--apply-fixes",
            help="First write the fixes the run proposed (your files are kept as artifacts), then resume.",
        ),
        as_json: bool = JSON_OPT,
    ) -> None:
        """Continue a failed, cancelled or crashed run from its first unfinished step."""
        invoke(
            "resume_workflow",
            {"run_id": run_id, "apply_fixes": apply_fixes},
            as_json=as_json,
            render=_render_run,
            live=_live(f"resume {run_id}"),
            on_error=_show_failed_steps,
        )


def _render_validation(out: Console, result: ValidateWorkflowResult) -> None:
    if result.valid:
        out.print(Text.assemble(("valid", "green"), f": workflow {result.name} ({result.steps} steps)"))
        return
    out.print(Text.assemble(("invalid", "red"), f": workflow {result.name} — {result.errors} problem(s)"))
    for problem in result.findings:
        out.print(f"  - {problem.message}")


def _render_runs(out: Console, result: ListRunsResult) -> None:
    table = Table(title="Workflow runs")
    for col in ("run", "name", "status", "steps", "session", "updated"):
        table.add_column(col)
    for r in result.runs:
        table.add_row(
            r.run_id,
            r.name,
            Text(r.status, _STYLE.get(r.status, "white")),
            f"{r.steps_done}/{r.steps_total}",
            r.session_id,
            dt.datetime.fromtimestamp(r.updated_at).strftime("%Y-%m-%d %H:%M:%S"),
        )
    out.print(table if result.runs else "no workflow runs")
