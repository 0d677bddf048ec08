"""BuildKit through the ``docker buildx`` CLI plugin (plain progress parsed into steps)."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from pathlib import Path

import anyio

from containerkit import _proc
from containerkit.engine.models import BuildStep
from containerkit.engine.strategy import BuildRequest, StepCallback
from containerkit.engine.tracker import StepTracker
from containerkit.errors import CommandFailedError, ToolMissingError


class BuildxBuildError(Exception):
    """``docker buildx build`` exited non-zero; the message is its last ERROR line."""


class BuildxStrategy:
    name = "buildkit"

    def __init__(self, docker_host: str | None, environ: Mapping[str, str]) -> None:
        self._env = {"DOCKER_HOST": docker_host} if docker_host else {}
        self._environ = environ

    async def check(self) -> tuple[str, str]:
        if _proc.which("docker") is None:
            raise ToolMissingError(
                "the docker CLI is not installed (BuildKit is driven through `docker buildx`)",
                hint="Install the Docker CLI with the buildx plugin, or use --strategy docker.",
            )
        try:
            result = await _proc.run(["docker", "buildx", "version"], timeout=15, env=self._env, check=False)
        except ToolMissingError:
            raise
        if result.returncode != 0:
            raise ToolMissingError(
                "the docker buildx plugin is not installed (`docker buildx version` failed: "
                f"{_first_line(result.stderr or result.stdout) or result.returncode})",
                hint="Install docker-buildx (e.g. `apt-get install docker-buildx` or the docker-buildx-plugin "
                "package), "
                "or use --strategy docker.",
            )
        return "docker buildx", f"BuildKit via {result.stdout.strip().splitlines()[0]}"

    async def build(self, request: BuildRequest, tracker: StepTracker, on_step: StepCallback) -> str:
        send, receive = anyio.create_memory_object_stream[BuildStep](max_buffer_size=math.inf)
        with tempfile.TemporaryDirectory(prefix="ck-buildx-") as tmp:
            iidfile = Path(tmp) / "iid"

            def on_line(_stream: str, line: str) -> None:
                step = tracker.feed(line)
                if step is not None:
                    send.send_nowait(step)

            async def forward() -> None:
                async for step in receive:
                    await on_step(step)

            async with anyio.create_task_group() as tg:
                tg.start_soon(forward)
                try:
                    await _proc.run(_argv(request, iidfile), env=self._env, on_line=on_line)
                except CommandFailedError as e:
                    errors = [ln for ln in tracker.lines if ln.startswith("ERROR:") or " ERROR:" in ln[:12]]
                    raise BuildxBuildError(errors[-1] if errors else e.message) from e
                finally:
                    send.close()
            return iidfile.read_text().strip()


def _argv(request: BuildRequest, iidfile: Path) -> list[str]:
    ctx = request.context
    argv = [
        "docker",
        "buildx",
        "build",
        "--progress=plain",
        "--load",
        "--iidfile",
        str(iidfile),
        "-f",
        str(ctx.dockerfile),
    ]
    for tag in request.tags:
        argv += ["-t", tag]
    for key, value in request.build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in request.labels.items():
        argv += ["--label", f"{key}={value}"]
    if request.target:
        argv += ["--target", request.target]
    if request.platform:
        argv += ["--platform", request.platform]
    if request.no_cache:
        argv.append("--no-cache")
    argv.append(str(ctx.root))
    return argv


def _first_line(text: str) -> str:
    """The first line of a command's output (at most 200 characters), or "" when it printed nothing."""
    stripped = text.strip()
    return stripped.splitlines()[0][:200] if stripped else ""
