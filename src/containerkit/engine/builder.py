"""Build orchestration: prepare the context, pick a strategy, stream steps, classify failures."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from pydantic import Field

from containerkit.dockerfile_syntax import parse_dockerfile
from containerkit.engine.api_build import EngineBuildError
from containerkit.engine.buildx import BuildxBuildError
from containerkit.engine.classify import classify
from containerkit.engine.context import prepare_context
from containerkit.engine.labels import oci_labels
from containerkit.engine.models import BuildStep, CacheInfo, StrategyChoice, _Model
from containerkit.engine.strategy import BuildRequest, BuildStrategy, select_strategy
from containerkit.engine.tracker import StepTracker
from containerkit.errors import BuildError

ProgressFn = Callable[[float, float | None, str], Awaitable[None]]
LogSink = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    context_dir: Path
    dockerfile: Path | None = None
    tags: tuple[str, ...] = ()
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str | None = None
    no_cache: bool = False
    strategy: str = "auto"
    timeout_s: float = 1800.0
    max_context_mb: int = 500
    version: str | None = None


class BuildOutcome(_Model):
    image_id: str
    tags: list[str]
    strategy: StrategyChoice
    context_size_bytes: int = Field(description="Bytes sent as the build context (after .dockerignore).")
    context_files: int
    dockerignore_patterns: int
    steps: list[BuildStep]
    cache: CacheInfo
    duration_s: float
    labels: dict[str, str]


async def run_build(
    options: BuildOptions,
    strategies: Sequence[BuildStrategy],
    on_progress: ProgressFn,
    on_log: LogSink,
) -> BuildOutcome:
    """Build an image. ``on_log`` receives the full log once the build ends (success or not).

    Progress values strictly increase (MCP requires it): step N starts at N-0.5 and is reported done at N+0.2.

    Raises:
        InvalidInputError: bad context or Dockerfile path.
        BuildError: CONTEXT_TOO_LARGE, TIMEOUT or the classified failure (details: line, step, log_tail).
        EngineUnavailableError / ToolMissingError: no usable strategy.
    """
    started = time.monotonic()
    context = prepare_context(options.context_dir, options.dockerfile, max_mb=options.max_context_mb)
    await on_progress(0, None, f"context {context.size_mb} MB in {context.files} files")
    dockerfile_text = context.dockerfile.read_text(encoding="utf-8", errors="replace")
    tracker = StepTracker(parse_dockerfile(dockerfile_text))
    strategy, choice = await select_strategy(options.strategy, strategies)
    await on_progress(0.1, None, f"building with {choice.name}")
    labels = await oci_labels(options.context_dir, version=options.version or _version_of(options.tags))
    request = BuildRequest(
        context=context,
        tags=options.tags,
        build_args=dict(options.build_args),
        labels=labels,
        target=options.target,
        platform=options.platform,
        no_cache=options.no_cache,
    )

    async def on_step(step: BuildStep) -> None:
        steps = tracker.steps
        if len(steps) > 1:
            done = steps[-2]
            await on_progress(
                len(steps) - 1 + 0.2,
                step.total,
                f"step {done.number} {_short(done)}: {done.duration_s:.1f}s" + (" (cached)" if done.cached else ""),
            )
        await on_progress(len(steps) - 1 + 0.5, step.total, f"step {step.number}/{step.total or '?'}: {_short(step)}")

    try:
        with anyio.fail_after(options.timeout_s):
            image_id = await strategy.build(request, tracker, on_step)
    except TimeoutError as e:
        tracker.finish()
        raise _with_context(
            BuildError(
                f"build did not finish within {options.timeout_s:g}s",
                code="TIMEOUT",
                retryable=True,
                hint="Raise the deadline (CONTAINERKIT_ENGINE__BUILD_TIMEOUT_S / timeout_s) or speed up the slow step.",
                details={"log_tail": tracker.tail()},
            ),
            tracker,
            context.dockerfile,
        ) from e
    except (EngineBuildError, BuildxBuildError) as e:
        tracker.finish()
        raise classify(
            str(e), tracker.tail(), tracker.failing_step(), tracker.failing_line(), dockerfile=str(context.dockerfile)
        ) from e
    finally:
        tracker.finish()
        on_log("\n".join(tracker.lines) + "\n")
    done = len(tracker.steps)
    await on_progress(max(done, 1), max(done, 1), f"built {image_id[:19]}")
    return BuildOutcome(
        image_id=image_id,
        tags=list(options.tags),
        strategy=choice,
        context_size_bytes=context.size_bytes,
        context_files=context.files,
        dockerignore_patterns=len(context.patterns),
        steps=tracker.steps,
        cache=tracker.cache(),
        duration_s=round(time.monotonic() - started, 3),
        labels=labels,
    )


def _with_context(err: BuildError, tracker: StepTracker, dockerfile: Path) -> BuildError:
    step = tracker.failing_step()
    err.details.update(
        dockerfile=str(dockerfile),
        line=tracker.failing_line(),
        step=step.instruction if step else None,
        step_number=step.number if step else None,
    )
    return err


def _short(step: BuildStep) -> str:
    return step.instruction if len(step.instruction) <= 70 else step.instruction[:67] + "..."


def _version_of(tags: tuple[str, ...]) -> str | None:
    for tag in tags:
        last = tag.rsplit("/", 1)[-1]
        if ":" in last and "@" not in last:
            return last.split(":", 1)[1]
    return None
