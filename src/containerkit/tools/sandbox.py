"""`run_sandboxed` and `smoke_test_image`: untrusted commands and freshly built images in hardened throwaway
containers."""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal

import anyio
from pydantic import Field, StringConstraints

from containerkit.engine.containers import reap_expired
from containerkit.imageref import check_image
from containerkit.sandbox.policy import Limits, enforce
from containerkit.sandbox.runner import RunSpec, run_blocking
from containerkit.sandbox.smoke import smoke_blocking
from containerkit.sandbox.waits import HttpWait, StaysUpWait, TcpWait
from containerkit.tools.base import Model, ToolContext, ToolParams, ToolResult
from containerkit.tools.registry import REGISTRY

_reaped: set[str] = set()  # engine endpoints this process has already cleaned up

EnvName = Annotated[str, StringConstraints(pattern=r"^[^=\x00]+$")]
ENV_DESCRIPTION = "Environment variables (names are non-empty and contain no '=')."


async def _docker_client(ctx: ToolContext, image: str) -> tuple[Any, str]:
    """The client and base URL of the engine holding ``image``; on the first use of an engine in this process, our
    containers left past their deadline by a killed process are removed (see :mod:`containerkit.engine.containers`)."""
    engine = await ctx.engine_for(image)
    endpoint = engine.docker_endpoint()
    client = await engine.client()
    if endpoint.base_url not in _reaped:
        _reaped.add(endpoint.base_url)
        await anyio.to_thread.run_sync(reap_expired, client)
    return client, endpoint.base_url


class SandboxParams(ToolParams):
    command: list[str] = Field(
        min_length=1, description="The command as an argv list (use ['sh', '-c', '...'] for a shell)."
    )
    image: str | None = Field(None, description="Image to run in (default settings.sandbox.default_image).")
    workspace: str | None = Field(None, description="Directory mounted at /workspace (read-only unless writable).")
    writable: bool = Field(
        False, description="Mount a copy of the workspace read-write and return the changes (diff + archive)."
    )
    network: Literal["none", "bridge"] = Field("none", description="Network access (the policy may forbid bridge).")
    memory_mb: int = Field(512, ge=16, description="Memory limit (no swap).")
    cpus: float = Field(1.0, gt=0, description="CPU limit.")
    pids: int = Field(256, ge=8, description="Process limit.")
    timeout_s: float = Field(120, gt=0, description="Wall-clock limit; the container is killed then.")
    max_output_bytes: int = Field(200_000, ge=1024, description="Captured output cap; the rest is counted, not stored.")
    env: dict[EnvName, str] = Field(default_factory=dict, description=ENV_DESCRIPTION)


class WorkspaceChanges(Model):
    added: list[str]
    removed: list[str]
    modified: list[str]
    binary: list[str]
    dropped: list[str] = Field(
        description="Changed files not returned (over settings.sandbox.max_changes_bytes), with their sizes."
    )
    diff: str = Field(description="Unified diff of changed text files.")
    archive_artifact_id: str | None = Field(description="Session artifact (tar.gz) with the added and modified files.")


class SandboxResult(ToolResult):
    exit_code: int | None = Field(description="None when killed at the timeout.")
    reason: Literal["exited", "timeout", "oom_killed", "output_truncated"]
    stdout: str
    stderr: str
    stdout_bytes: int = Field(description="Total bytes the command wrote to stdout (also beyond the cap).")
    stderr_bytes: int
    duration_s: float
    peak_memory_bytes: int | None = Field(
        description="Highest memory use the engine reported while it ran; null when unavailable."
    )
    image: str
    changes: WorkspaceChanges | None


@REGISTRY.tool(
    "run_sandboxed",
    effects=("runs_containers", "network"),
    title="Run a command in a sandbox",
    group="sandbox",
    description="Run an argv command in a hardened throwaway container: no network by default, read-only root, tmpfs "
    "/tmp, "
    "workspace read-only (or a copy with the changes returned), all capabilities dropped, no-new-privileges, non-root, "
    "memory/CPU/PID "
    "limits, a timeout and an output cap. The container is always removed. The settings' policy caps every request.",
    params=SandboxParams,
    result=SandboxResult,
)
async def run_sandboxed(ctx: ToolContext, params: SandboxParams) -> SandboxResult:
    image = check_image(params.image or ctx.settings.sandbox.default_image)
    limits = Limits(
        params.memory_mb, params.cpus, params.pids, params.timeout_s, params.network, params.max_output_bytes
    )
    enforce(ctx.settings.sandbox, image, limits)
    workspace = ctx.resolve_path(params.workspace) if params.workspace else None
    client, base_url = await _docker_client(ctx, image)
    spec = RunSpec(
        image=image,
        command=list(params.command),
        limits=limits,
        workspace=workspace,
        writable=params.writable,
        env=params.env,
        max_changes_bytes=ctx.settings.sandbox.max_changes_bytes,
        docker_base_url=base_url,
    )
    cancel = threading.Event()
    await ctx.report(0, None, f"running {' '.join(params.command)[:80]} in {image}")
    try:
        outcome = await anyio.to_thread.run_sync(run_blocking, client, spec, cancel, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        cancel.set()  # the worker thread removes the container
        raise
    finally:
        cancel.set()
    changes = None
    if outcome.changes is not None:
        artifact = (
            ctx.artifact("workspace_changes", "changes.tar.gz", outcome.archive or b"", "application/gzip")
            if outcome.archive
            else None
        )
        changes = WorkspaceChanges(**outcome.changes, archive_artifact_id=artifact.id if artifact else None)
    await ctx.report(1, 1, f"{outcome.reason} (exit {outcome.exit_code})")
    return SandboxResult(
        exit_code=outcome.exit_code,
        reason=outcome.reason,
        stdout=outcome.stdout,
        stderr=outcome.stderr,
        stdout_bytes=outcome.stdout_bytes,
        stderr_bytes=outcome.stderr_bytes,
        duration_s=outcome.duration_s,
        peak_memory_bytes=outcome.peak_memory_bytes,
        image=image,
        changes=changes,
    )


class SmokeParams(ToolParams):
    image: str = Field(description="The image to start (id or reference).")
    port: int | None = Field(None, ge=1, le=65535, description="Port the app should listen on; omit for workers.")
    path: str | None = Field(None, description="Health path probed over HTTP (default '/' for HTTP services).")
    protocol: Literal["http", "tcp", "none"] | None = Field(
        None, description="http (default with a port), tcp, or none (worker)."
    )
    env: dict[EnvName, str] = Field(default_factory=dict, description=ENV_DESCRIPTION)
    timeout_s: float = Field(60, gt=0, le=900, description="How long to wait for an answer.")
    grace_s: float = Field(5, gt=0, le=300, description="Workers: how long the process must stay up.")
    memory_mb: int = Field(512, ge=16, description="Memory limit during the smoke run.")


class SmokeResult(ToolResult):
    passed: bool
    protocol: str
    port: int | None
    host_port: int | None = Field(description="Loopback port the app was published on during the test.")
    status_code: int | None
    detail: str
    duration_s: float
    listening_ports: list[int]
    logs_tail: str


@REGISTRY.tool(
    "smoke_test_image",
    effects=("runs_containers",),
    title="Smoke-test an image",
    group="sandbox",
    store_result=True,
    description="Start the image with the sandbox's limits (port published on loopback only), wait until it answers "
    "the health "
    "path over HTTP, accepts TCP, or (workers) stays up; then remove it. Fails with SMOKE_EXITED (exit code + logs), "
    "SMOKE_WRONG_PORT (the ports it does listen on), SMOKE_LOOPBACK_ONLY (it binds 127.0.0.1 only) or SMOKE_NO_ANSWER.",
    params=SmokeParams,
    result=SmokeResult,
)
async def smoke_test_image(ctx: ToolContext, params: SmokeParams) -> SmokeResult:
    image = check_image(params.image)
    protocol = params.protocol or ("http" if params.port else "none")
    wait: HttpWait | TcpWait | StaysUpWait
    if protocol == "none" or params.port is None:
        wait, protocol = StaysUpWait(params.grace_s), "none"
    elif protocol == "tcp":
        wait = TcpWait()
    else:
        wait = HttpWait(params.path or "/")
    policy = ctx.settings.sandbox
    limits = Limits(
        min(params.memory_mb, policy.max_memory_mb),
        min(1.0, policy.max_cpus),
        min(256, policy.max_pids),
        params.timeout_s,
        "bridge" if params.port else "none",
        policy.max_output_bytes,
    )
    client, base_url = await _docker_client(ctx, image)
    await ctx.report(0, None, f"starting {image}" + (f", waiting for port {params.port}" if params.port else ""))
    outcome = await anyio.to_thread.run_sync(
        lambda: smoke_blocking(
            client,
            image,
            port=params.port if protocol != "none" else None,
            wait=wait,
            limits=limits,
            env=params.env,
            timeout_s=params.timeout_s,
            docker_base_url=base_url,
        )
    )
    await ctx.report(1, 1, outcome.detail)
    return SmokeResult(
        passed=True,
        protocol=outcome.protocol,
        port=outcome.port,
        host_port=outcome.host_port,
        status_code=outcome.status_code,
        detail=outcome.detail,
        duration_s=outcome.duration_s,
        listening_ports=outcome.listening_ports,
        logs_tail=outcome.logs_tail,
    )
