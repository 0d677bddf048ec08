"""`containerkit manifests PATH --image REF ...` (generate) and `containerkit manifests validate DIR`."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from containerkit.cli.findings import render_findings
from containerkit.cli.params import tool_options
from containerkit.cli.runner import err_console, fail, invoke, key_values
from containerkit.errors import ContainerKitError, InvalidInputError

if TYPE_CHECKING:
    from containerkit.tools.k8s_manifests import GenerateManifestsResult, ValidateManifestsResult


class _GenerateByDefault(TyperGroup):
    """``manifests PATH ...`` means ``manifests generate PATH ...``: a first argument that is no subcommand is the
    PATH."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's (vendored) click Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["generate", *args]
        return super().parse_args(ctx, args)


manifests_app = typer.Typer(
    cls=_GenerateByDefault,
    no_args_is_help=True,
    help="Generate Kubernetes manifests (`manifests PATH --image REF`) or validate them (`manifests validate DIR`).",
)


def _print_error_findings(error: ContainerKitError) -> None:
    from containerkit.tools.k8s_manifests import findings_from

    findings = findings_from(error)
    if findings:
        render_findings(err_console, findings, f"{len(findings)} finding(s)")


def _render_generated(out: Console, r: GenerateManifestsResult) -> None:
    table = Table(title=f"{r.app_name} in namespace {r.namespace} ({r.format}) → {r.out_dir}")
    table.add_column("kind")
    table.add_column("name")
    for obj in r.objects:
        table.add_row(obj.kind, obj.name)
    out.print(table)
    out.print(
        f"image: {r.image}   runAsUser: {r.user_uid}   port: {r.port or '-'}   probes: {r.probes}"
        + (f" ({r.health_path})" if r.probes == "http" else "")
    )
    for path in r.files:
        out.print(Text.assemble(("wrote", "green"), f" {path}"))
    for w in r.warnings:
        out.print(Text.assemble(("warning:", "yellow"), f" {w}"))
    for n in r.notes:
        out.print(Text.assemble(("note:", "dim"), f" {n}"))


def _render_validated(out: Console, r: ValidateManifestsResult) -> None:
    render_findings(
        out,
        r.findings,
        f"{r.path}: {r.objects} object(s), Kubernetes {r.kubernetes_version}, "
        f"{r.errors} error(s), {r.warnings} warning(s)",
    )


def _split_args(args: str | None) -> list[str] | None:
    if args is None:
        return None
    try:
        return shlex.split(args)
    except ValueError as e:
        fail(InvalidInputError(f"--args {args!r} cannot be split: {e}", hint="Close the quote, or escape it."))


@manifests_app.command("generate")
@tool_options("generate_manifests", given={"out_dir": "out", "format": "fmt", "ingress_host": "ingress"})
def generate(
    path: str = typer.Argument(..., help="Repository path or git URL."),
    image: str = typer.Option(..., "--image", help="Image reference the Deployment runs (registry/app:tag)."),
    service: str = typer.Option(None, "--service", help="Service path in a monorepo."),
    out: str = typer.Option(None, "--out", help="Output directory (default <service dir>/k8s)."),
    namespace: str = typer.Option(None, "--namespace", "-n", help="Namespace (default settings.k8s.namespace)."),
    fmt: str = typer.Option("plain", "--format", help="plain, kustomize or helm."),
    ingress: str = typer.Option(None, "--ingress", help="Add an Ingress for this host."),
    replicas: int = typer.Option(2, "--replicas", help="Deployment replicas."),
    user_uid: int = typer.Option(None, "--user-uid", help="runAsUser (default: the Dockerfile's UID)."),
    port: int = typer.Option(None, "--port", help="Override the detected port."),
    health_path: str = typer.Option(None, "--health-path", help="Override the health route, e.g. /healthz."),
    readiness_path: str = typer.Option(
        None, "--readiness-path", help="A separate route for readiness and startup probes, e.g. /readyz."
    ),
    args: str = typer.Option(
        None, "--args", help="The container's command line in place of the image's CMD, split like a shell does."
    ),
    env: list[str] = typer.Option([], "--env", "-e", help="KEY=VALUE the Deployment sets (repeatable; no secrets)."),
    secret_env: list[str] = typer.Option(
        [], "--secret-env", help="A variable the pods read from the app's Secret (repeatable)."
    ),
    name: str = typer.Option(None, "--name", help="Override the app name."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Write beside YAML Container Kit did not write (your colliding files are kept as artifacts).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the tool's result model as JSON."),
    derived: dict[str, object] | None = None,
) -> None:
    """Generate commented Kubernetes manifests for a service (also: `containerkit manifests PATH --image REF`)."""
    invoke(
        "generate_manifests",
        {
            "path": path,
            "image": image,
            "service": service,
            "out_dir": out,
            "namespace": namespace,
            "format": fmt,
            "ingress_host": ingress,
            "replicas": replicas,
            "user_uid": user_uid,
            "port": port,
            "health_path": health_path,
            "readiness_path": readiness_path,
            "args": _split_args(args),
            "env": key_values(env, "--env", "--env LOG_LEVEL=info"),
            "secret_env": secret_env,
            "name": name,
            "force": force,
            **(derived or {}),
        },
        as_json=as_json,
        render=_render_generated,
    )


@manifests_app.command("validate")
@tool_options("validate_manifests")
def validate(
    path: str = typer.Argument(
        ..., help="A YAML file, a directory of manifests, a kustomize output or a generated Helm chart."
    ),
    kubernetes_version: str = typer.Option(
        None, "--kubernetes-version", help="Schemas of this version (default settings.k8s.kubernetes_version)."
    ),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail too."),
    policy: str = typer.Option(
        None, "--policy", help="Directory of Rego policies (conftest's conventions) checked beside the built-in rules."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the tool's result model as JSON."),
    derived: dict[str, object] | None = None,
) -> None:
    """Schema and best-practice checks (and your Rego policies); exits 1 when there are error findings (and prints
    them)."""
    invoke(
        "validate_manifests",
        {
            "path": path,
            "kubernetes_version": kubernetes_version,
            "strict": strict,
            "policy": policy,
            **(derived or {}),
        },
        as_json=as_json,
        render=_render_validated,
        on_error=_print_error_findings,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(manifests_app, name="manifests")
