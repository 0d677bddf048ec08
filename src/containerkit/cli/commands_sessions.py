"""`sessions`, `jobs`, `status`, `config` commands."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from containerkit.cli.params import tool_options
from containerkit.cli.runner import console, fail, get_app, invoke, print_json
from containerkit.errors import ContainerKitError

if TYPE_CHECKING:
    from containerkit.tools.sessions import GetSessionResult, JobResult, ListSessionsResult, ServerStatusResult


JSON_OPT = typer.Option(False, "--json", help="Print the tool's result model as JSON.")


def _ts(value: float | None) -> str:
    return dt.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _render_sessions(out: Console, result: ListSessionsResult) -> None:
    table = Table(title="Sessions")
    for col in ("id", "last access", "expires", "labels", "state"):
        table.add_column(col)
    for s in result.sessions:
        table.add_row(s.id, _ts(s.last_access), _ts(s.expires_at), ", ".join(s.labels), ", ".join(s.state_keys))
    out.print(table if result.sessions else "no sessions")


def _render_session(out: Console, result: GetSessionResult) -> None:
    s = result.session
    out.print(
        Text.assemble(
            ("session", "bold"), f" {s.id}  labels: {', '.join(s.labels) or '-'}  expires: {_ts(s.expires_at)}"
        )
    )
    out.print(f"workspace: {s.workspace_dir}   state keys: {', '.join(s.state_keys) or '-'}   version: {s.version}")
    jobs = Table(title="Jobs")
    for col in ("job", "tool", "status", "started", "ms", "error"):
        jobs.add_column(col)
    for j in result.jobs:
        jobs.add_row(
            j.id,
            j.tool,
            j.status,
            _ts(j.started_at),
            f"{j.duration_ms:.1f}" if j.duration_ms else "-",
            j.error_code or "",
        )
    out.print(jobs)
    if result.artifacts:
        arts = Table(title="Artifacts")
        for col in ("id", "kind", "name", "size", "digest"):
            arts.add_column(col)
        for a in result.artifacts:
            arts.add_row(a.id, a.kind, a.name, str(a.size), a.digest[:19])
        out.print(arts)


def _render_job(out: Console, result: JobResult) -> None:
    j = result.job
    out.print(
        Text.assemble(
            (j.id, "bold"),
            f" {j.tool} ",
            (j.status, "green" if j.status == "succeeded" else "red"),
            f" {f'{j.duration_ms:.1f} ms' if j.duration_ms else ''} session {j.session_id}",
        )
    )
    if j.error_code:
        out.print(f"error: [{j.error_code}] {j.error_message}")


def _render_status(out: Console, result: ServerStatusResult) -> None:
    out.print(f"containerkit {result.version}  tools: {result.tools}")
    out.print(
        f"store: {result.store_path} (schema v{result.schema_version})  sessions: {result.counts.sessions}  "
        f"jobs: {result.counts.jobs} ({result.counts.running_jobs} running)  artifacts: {result.counts.artifacts}"
    )
    if result.engine is not None:
        out.print(
            Text.assemble(
                "engine: ",
                ("reachable", "green") if result.engine.reachable else ("unreachable", "red"),
                f" {result.engine.detail}",
            )
        )


def register(app: typer.Typer) -> None:
    sessions = typer.Typer(help="Inspect and manage sessions.", no_args_is_help=True)
    jobs = typer.Typer(help="Inspect tool invocations (jobs).", no_args_is_help=True)
    config = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
    app.add_typer(sessions, name="sessions")
    app.add_typer(jobs, name="jobs")
    app.add_typer(config, name="config")

    @sessions.command("list")
    @tool_options("list_sessions", without={"session_id": "lists sessions; belongs to none"})
    def sessions_list(
        label: str = typer.Option(None, help="Only sessions with this label."), as_json: bool = JSON_OPT
    ) -> None:
        """List live sessions."""
        invoke("list_sessions", {"label": label}, as_json=as_json, render=_render_sessions)

    @sessions.command("show")
    @tool_options("get_session")
    def sessions_show(session_id: str, as_json: bool = JSON_OPT) -> None:
        """Show a session: state, jobs, errors, artifacts."""
        invoke("get_session", {"session_id": session_id}, as_json=as_json, render=_render_session)

    @sessions.command("delete")
    @tool_options("delete_session")
    def sessions_delete(session_id: str, as_json: bool = JSON_OPT) -> None:
        """Delete a session and its workspace."""
        invoke(
            "delete_session",
            {"session_id": session_id},
            as_json=as_json,
            render=lambda out, r: out.print(f"deleted session {r.deleted}"),
        )

    @sessions.command("label")
    @tool_options("add_session_label")
    def sessions_label(
        session_id: str,
        label: str,
        remove: bool = typer.Option(False, "--remove", help="Remove the label instead of adding it."),
        as_json: bool = JSON_OPT,
    ) -> None:
        """Add (or with --remove, remove) a label."""
        invoke(
            "remove_session_label" if remove else "add_session_label",
            {"session_id": session_id, "label": label},
            as_json=as_json,
            render=lambda out, r: out.print(f"{r.session.id}: {', '.join(r.session.labels) or '(no labels)'}"),
        )

    @jobs.command("show")
    @tool_options("get_job_status", without={"session_id": "a job id names its session"})
    def jobs_show(job_id: str, as_json: bool = JSON_OPT) -> None:
        """Show one job's status, timing and error."""
        invoke("get_job_status", {"job_id": job_id}, as_json=as_json, render=_render_job)

    @app.command("status")
    @tool_options(
        "server_status", given={"check_engine": "no_engine"}, without={"session_id": "the server's, no session's"}
    )
    def status(
        no_engine: bool = typer.Option(False, "--no-engine", help="Do not ping the container engine."),
        as_json: bool = JSON_OPT,
    ) -> None:
        """Version, store, counts, engine reachability."""
        invoke("server_status", {"check_engine": not no_engine}, as_json=as_json, render=_render_status)

    @config.command("show")
    def config_show(as_json: bool = JSON_OPT) -> None:
        """Print the effective settings (secrets masked)."""
        try:
            from containerkit.settings import load_settings

            data = load_settings().masked()
        except ContainerKitError as e:
            fail(e)
        if as_json:
            print_json(data)
        else:
            import yaml

            console.print(yaml.safe_dump(data, sort_keys=False))
        _ = get_app  # settings come from the same loader the app uses
