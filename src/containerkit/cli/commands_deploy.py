"""`deploy` and `verify` commands (tools deploy_application and verify_deployment)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from containerkit.cli.params import tool_options
from containerkit.cli.runner import err_console, invoke
from containerkit.errors import ContainerKitError

if TYPE_CHECKING:
    from containerkit.k8s.rollout import RolloutStatus
    from containerkit.tools.k8s_deploy import DeployResult, VerifyResult


JSON_OPT = typer.Option(False, "--json", help="Print the tool's result model as JSON.")
CONTEXT_OPT = typer.Option(None, "--context", help="kubeconfig context (default settings, then current-context).")
NAMESPACE_OPT = typer.Option(None, "--namespace", "-n", help="Target namespace (default settings.k8s.namespace).")


def _render_rollout(out: Console, r: RolloutStatus) -> None:
    rev = f" revision {r.revision}" if r.revision is not None else ""
    out.print(
        Text.assemble(
            (r.name, "bold"),
            f"{rev}: {r.ready_replicas}/{r.replicas} ready, {r.updated_replicas} updated, "
            f"{r.available_replicas} available",
        )
    )


def _render_deploy(out: Console, r: DeployResult) -> None:
    action = "Dry run against" if r.dry_run else "Applied to"
    title = f"{action} {r.context} ({r.server_version or 'unknown version'}), namespace {r.namespace}"
    table = Table(title=title)
    for col in ("kind", "name", "namespace", "action"):
        table.add_column(col)
    for obj in r.applied:
        table.add_row(obj.kind, obj.name, obj.namespace or "-", obj.action + (f" ({obj.note})" if obj.note else ""))
    out.print(table)
    if r.diff:
        out.print(r.diff, soft_wrap=True)
    for rollout in r.rollouts:
        _render_rollout(out, rollout)
    out.print(f"took {r.duration_s:.1f}s")


def _render_verify(out: Console, r: VerifyResult) -> None:
    _render_rollout(out, r.rollout)
    if r.probe is not None:
        p = r.probe
        out.print(f"probe {p.proxy_path}: HTTP {p.status_code}")
        if p.body_excerpt:
            out.print(p.body_excerpt, soft_wrap=True)
    else:
        out.print(f"no HTTP probe: {r.probe_skipped}")


def _print_diagnostics(e: ContainerKitError) -> None:
    """On a failed rollout print the pod states, warning events and log tails before the error line."""
    diag: Any = e.details.get("diagnostics")
    if not isinstance(diag, dict):
        return
    for pod in diag.get("pods") or []:
        if not isinstance(pod, dict):
            continue
        err_console.print(
            f"pod {pod.get('name')}: {pod.get('phase')}"
            + (f" — {pod['unschedulable']}" if pod.get("unschedulable") else ""),
            highlight=False,
        )
        for c in pod.get("containers") or []:
            if isinstance(c, dict) and not c.get("ready"):
                err_console.print(
                    f"  {c.get('name')}: {c.get('reason') or c.get('state')}, {c.get('restart_count')} restarts",
                    highlight=False,
                )
                if c.get("log_tail"):
                    err_console.print("    " + str(c["log_tail"]).replace("\n", "\n    "))
    for ev in diag.get("events") or []:
        if isinstance(ev, dict) and ev.get("type") == "Warning":
            err_console.print(f"event {ev.get('object')}: {ev.get('reason')}: {ev.get('message')}")
    if "rollback" in e.details:
        err_console.print(str(e.details["rollback"]))


def register(app: typer.Typer) -> None:
    @app.command("deploy")
    @tool_options("deploy_application", given={"timeout_s": "timeout"})
    def deploy_cmd(
        path: Path = typer.Argument(..., help="Directory (or file) of rendered manifests."),
        context: str = CONTEXT_OPT,
        namespace: str = NAMESPACE_OPT,
        dry_run: bool = typer.Option(False, "--dry-run", help="Server-side dry run: nothing is stored."),
        diff: bool = typer.Option(False, "--diff", help="Show a unified diff of what changes."),
        timeout: float = typer.Option(None, "--timeout", help="Rollout deadline in seconds."),
        no_rollback: bool = typer.Option(False, "--no-rollback", help="Leave a failed rollout in place."),
        create_namespace: bool = typer.Option(
            False, "--create-namespace", help="Create the namespace when it is missing."
        ),
        force_conflicts: bool = typer.Option(
            False,
            "--force-conflicts",
            help="Take over fields another field manager set "
            "(kubectl scale, an operator); without it they are a CONFLICT.",
        ),
        allow_production: bool = typer.Option(
            False,
            "--allow-production",
            help="Deploy to a context or namespace whose name "
            "looks like production (else you are asked on a terminal, refused otherwise).",
        ),
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """Apply manifests (server-side apply), wait for the rollout, roll back on failure."""
        invoke(
            "deploy_application",
            {
                "path": str(path),
                "context": context,
                "namespace": namespace,
                "dry_run": dry_run,
                "diff": diff,
                "timeout_s": timeout,
                "no_rollback": no_rollback,
                "create_namespace": create_namespace,
                "allow_production": allow_production,
                "force_conflicts": force_conflicts,
                **(derived or {}),
            },
            as_json=as_json,
            render=_render_deploy,
            progress_title="deploy",
            on_error=_print_diagnostics,
        )

    @app.command("verify")
    @tool_options("verify_deployment")
    def verify_cmd(
        name: str = typer.Argument(..., help="The Deployment's name."),
        namespace: str = NAMESPACE_OPT,
        context: str = CONTEXT_OPT,
        path: str = typer.Option(None, "--path", help="HTTP path to probe (default the readinessProbe's)."),
        port: int = typer.Option(None, "--port", help="Service port to probe (default from the readinessProbe)."),
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """Check a Deployment's health and probe its Service through the API server proxy."""
        invoke(
            "verify_deployment",
            {
                "name": name,
                "namespace": namespace,
                "context": context,
                "path": path,
                "port": port,
                **(derived or {}),
            },
            as_json=as_json,
            render=_render_verify,
            progress_title="verify",
            on_error=_print_diagnostics,
        )
