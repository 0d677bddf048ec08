"""`containerkit sandbox run … -- CMD` and `containerkit smoke IMAGE`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

from containerkit.cli.params import tool_options
from containerkit.cli.runner import fail, invoke, key_values
from containerkit.errors import InvalidInputError

if TYPE_CHECKING:
    from containerkit.tools.sandbox import SandboxResult, SmokeResult


def _render_run(out: Console, r: SandboxResult) -> None:
    if r.stdout:
        sys.stdout.write(r.stdout if r.stdout.endswith("\n") else r.stdout + "\n")
    if r.stderr:
        sys.stderr.write(r.stderr if r.stderr.endswith("\n") else r.stderr + "\n")
    mem = f", peak memory {r.peak_memory_bytes / 1024 / 1024:.0f} MiB" if r.peak_memory_bytes else ""
    out.print(
        Text(
            f"{r.reason}: exit code {r.exit_code}, {r.duration_s:.2f}s{mem}; output {r.stdout_bytes + r.stderr_bytes} "
            "bytes",
            "dim",
        )
    )
    if r.changes:
        out.print(f"changes: +{len(r.changes.added)} -{len(r.changes.removed)} ~{len(r.changes.modified)}")
        if r.changes.diff:
            out.print(r.changes.diff)


def _render_smoke(out: Console, r: SmokeResult) -> None:
    out.print(Text.assemble(("passed", "green"), f" in {r.duration_s:.1f}s: {r.detail}"))


def _memory_mb(text: str | None) -> dict[str, int]:
    """``{"memory_mb": 512}`` for ``--memory 512m`` (1024 for ``1g``); nothing when the option was not given, so the
    tool's default applies."""
    if text is None:
        return {}
    size = text.strip().lower()
    number = size.removesuffix("m").removesuffix("g")
    if not number.replace(".", "", 1).isdigit():
        fail(InvalidInputError(f"--memory {text!r} is not a size", hint="Give megabytes or gigabytes: 512m, 1g."))
    return {"memory_mb": int(float(number) * (1024 if size.endswith("g") else 1))}


MEMORY_OPT = typer.Option(None, "--memory", help="Memory limit, e.g. 512m or 1g (default: the tool's, 512m).")


def register(app: typer.Typer) -> None:
    sandbox = typer.Typer(help="Run untrusted commands in hardened throwaway containers.", no_args_is_help=True)
    app.add_typer(sandbox, name="sandbox")

    @sandbox.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
    @tool_options("run_sandboxed", given={"memory_mb": "memory", "timeout_s": "timeout"})
    def run(
        command: list[str] = typer.Argument(..., help="The command, after --."),
        image: str = typer.Option(None, "--image", help="Image (default settings.sandbox.default_image)."),
        workspace: str = typer.Option(None, "--workspace", help="Directory mounted read-only at /workspace."),
        writable: bool = typer.Option(False, "--writable", help="Mount a copy read-write and show the changes."),
        network: str = typer.Option("none", "--network", help="none or bridge."),
        memory: str | None = MEMORY_OPT,
        cpus: float = typer.Option(1.0, "--cpus"),
        pids: int = typer.Option(256, "--pids"),
        timeout: float = typer.Option(120, "--timeout", help="Seconds."),
        env: list[str] = typer.Option([], "--env", "-e", help="KEY=VALUE (repeatable)."),
        as_json: bool = typer.Option(False, "--json", help="Print the tool's result model as JSON."),
        derived: dict[str, object] | None = None,
    ) -> None:
        """Run CMD in a sandbox; exits with the command's exit code."""
        result = invoke(
            "run_sandboxed",
            {
                "command": command,
                "image": image,
                "workspace": workspace,
                "writable": writable,
                "network": network,
                **_memory_mb(memory),
                "cpus": cpus,
                "pids": pids,
                "timeout_s": timeout,
                "env": key_values(env, "-e", "-e PORT=8080"),
                **(derived or {}),
            },
            as_json=as_json,
            render=_render_run,
        )
        raise typer.Exit(code=result.exit_code if result.exit_code is not None else 124)

    @app.command("smoke")
    @tool_options("smoke_test_image", given={"memory_mb": "memory", "timeout_s": "timeout", "grace_s": "grace"})
    def smoke(
        image: str = typer.Argument(..., help="Image to test."),
        port: int = typer.Option(None, "--port", help="Port the app listens on (omit for workers)."),
        path: str = typer.Option(None, "--path", help="Health path (HTTP)."),
        protocol: str = typer.Option(None, "--protocol", help="http, tcp or none."),
        env: list[str] = typer.Option([], "--env", "-e", help="KEY=VALUE (repeatable)."),
        timeout: float = typer.Option(60, "--timeout", help="Seconds to wait for an answer."),
        grace: float = typer.Option(5, "--grace", help="Workers: seconds the process must stay up."),
        memory: str | None = MEMORY_OPT,
        as_json: bool = typer.Option(False, "--json", help="Print the tool's result model as JSON."),
        derived: dict[str, object] | None = None,
    ) -> None:
        """Start the image, wait until it answers (or stays up), then remove it."""
        invoke(
            "smoke_test_image",
            {
                "image": image,
                "port": port,
                "path": path,
                "protocol": protocol,
                "env": key_values(env, "-e", "-e PORT=8080"),
                "timeout_s": timeout,
                "grace_s": grace,
                **_memory_mb(memory),
                **(derived or {}),
            },
            as_json=as_json,
            render=_render_smoke,
            progress_title=f"smoke {image}",
        )
