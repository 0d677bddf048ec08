"""Engine tools: build_image, tag_image, inspect_image (logic in containerkit.engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from containerkit import metrics
from containerkit.engine.builder import BuildOptions
from containerkit.engine.models import BuildStep, CacheInfo, ImageInfo, StrategyChoice
from containerkit.errors import InvalidInputError
from containerkit.imageref import parse_reference
from containerkit.redaction import redact
from containerkit.registry.transfer import reference_lock
from containerkit.tools.base import ImageRef, ToolContext, ToolParams, ToolResult
from containerkit.tools.images import policy_of
from containerkit.tools.registry import REGISTRY

Strategy = Literal["auto", "buildkit", "docker", "podman"]


class BuildImageParams(ToolParams):
    path: str = Field(description="Build context directory (must be inside the allowed roots).")
    dockerfile: str | None = Field(
        None, description="Dockerfile path, relative to path or absolute (default path/Dockerfile)."
    )
    tags: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Image references to tag the result with, e.g. 127.0.0.1:5001/app:1.0.",
    )
    build_args: dict[str, str] = Field(
        default_factory=dict, description="--build-arg values (not for secrets: they are recorded)."
    )
    target: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Build stage to stop at.")
    platform: str | None = Field(
        None, pattern=r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$", description="Target platform, e.g. linux/amd64."
    )
    no_cache: bool = Field(False, description="Do not use the build cache.")
    strategy: Strategy | None = Field(
        None, description="auto (buildx, else Docker API, else Podman) or a fixed one; default from settings."
    )
    timeout_s: float | None = Field(
        None, gt=0, description="Build deadline in seconds (default settings.engine.build_timeout_s)."
    )


class BuildImageResult(ToolResult):
    image_id: str = Field(description="sha256 image id.")
    tags: list[str]
    size_bytes: int
    layers: int = Field(description="Filesystem layers of the image.")
    duration_s: float
    cache: CacheInfo = Field(description="How many steps came from the build cache.")
    steps: list[BuildStep]
    strategy: StrategyChoice = Field(description="The strategy used and why.")
    context_size_bytes: int
    context_files: int
    labels: dict[str, str] = Field(description="OCI annotations set on the image.")
    log_artifact_id: str = Field(description="Session artifact (kind build_log) holding the full build log.")

    def record_metrics(self, tool: str) -> None:
        metrics.build(self.strategy.name, self.duration_s, self.cache.steps, self.cache.cached)


def _normalise_tags(tags: list[str]) -> tuple[str, ...]:
    return tuple(parse_reference(t).familiar for t in tags)


@REGISTRY.tool(
    "build_image",
    effects=("moves_tags", "reads_registry", "runs_containers"),
    title="Build an image",
    group="engine",
    params=BuildImageParams,
    result=BuildImageResult,
    store_result=True,
    description="Build a container image from a directory with a Dockerfile: .dockerignore honoured, context size "
    "checked, "
    "steps streamed as progress, OCI labels set, failures classified (DOCKERFILE_SYNTAX, BASE_IMAGE_NOT_FOUND, "
    "COPY_SOURCE_MISSING, DEPENDENCY_INSTALL_FAILED, COMMAND_FAILED, REGISTRY_AUTH, NETWORK, DISK_FULL, TIMEOUT, ...) "
    "with the failing Dockerfile line. The full log is stored as a build_log artifact.",
)
async def build_image(ctx: ToolContext, params: BuildImageParams) -> BuildImageResult:
    root = ctx.resolve_path(params.path)
    dockerfile = None
    if params.dockerfile:
        raw = Path(params.dockerfile)
        dockerfile = ctx.resolve_path(raw if raw.is_absolute() else root / raw)
    if any(k.startswith("-") or not k for k in params.build_args):
        raise InvalidInputError("build argument names must not be empty or start with '-'")
    settings = ctx.settings.engine
    options = BuildOptions(
        context_dir=root,
        dockerfile=dockerfile,
        tags=_normalise_tags(params.tags),
        build_args=params.build_args,
        target=params.target,
        platform=params.platform,
        no_cache=params.no_cache,
        strategy=params.strategy or settings.strategy,
        timeout_s=params.timeout_s or settings.build_timeout_s,
        max_context_mb=settings.max_context_mb,
    )
    log_ids: list[str] = []

    def store_log(text: str) -> None:
        log_ids.append(ctx.artifact("build_log", "build.log", redact(text)).id)

    engine, outcome = await ctx.engines().build(options, ctx.report, store_log)
    info = await engine.inspect(outcome.image_id)
    return BuildImageResult(
        image_id=outcome.image_id,
        tags=outcome.tags,
        size_bytes=info.size_bytes,
        layers=info.layers,
        duration_s=outcome.duration_s,
        cache=outcome.cache,
        steps=outcome.steps,
        strategy=outcome.strategy,
        context_size_bytes=outcome.context_size_bytes,
        context_files=outcome.context_files,
        labels=outcome.labels,
        log_artifact_id=log_ids[-1] if log_ids else "",
    )


class TagImageParams(ToolParams):
    source: str = Field(description="Existing local image: id or reference.")
    target: ImageRef = Field(description="New reference, e.g. 127.0.0.1:5001/team/app:1.0.")


class ImageResult(ToolResult):
    reference: str = Field(description="The normalised reference.")
    image: ImageInfo


@REGISTRY.tool(
    "tag_image",
    effects=("moves_tags",),
    title="Tag an image",
    group="engine",
    params=TagImageParams,
    result=ImageResult,
    idempotent=True,
    description="Give a local image another reference (registry/repository:tag) on the engine.",
)
async def tag_image(ctx: ToolContext, params: TagImageParams) -> ImageResult:
    if params.source.startswith("-"):
        raise InvalidInputError(f"source {params.source!r} starts with '-'")
    target = parse_reference(params.target)
    if target.digest:
        raise InvalidInputError(f"cannot tag with a digest reference {params.target!r}", hint="Use repository:tag.")
    source = params.source if params.source.startswith("sha256:") else parse_reference(params.source).familiar
    familiar = target.familiar
    repo, _, tag = familiar.rpartition(":")
    async with reference_lock(policy_of(ctx).lock_dir, target.canonical):  # never moves a tag another run is pushing
        info = await (await ctx.engine_for(source)).tag(source, repo, tag)
    return ImageResult(reference=target.canonical, image=info)


class InspectImageParams(ToolParams):
    reference: str = Field(description="Local image id or reference.")


@REGISTRY.tool(
    "inspect_image",
    effects=(),
    title="Inspect an image",
    group="engine",
    params=InspectImageParams,
    result=ImageResult,
    idempotent=True,
    description="Show a local image: id, tags, digests, size, layer count, platform and labels.",
)
async def inspect_image(ctx: ToolContext, params: InspectImageParams) -> ImageResult:
    if params.reference.startswith("-"):
        raise InvalidInputError(f"reference {params.reference!r} starts with '-'")
    ref = params.reference if params.reference.startswith("sha256:") else parse_reference(params.reference).familiar
    info = await (await ctx.engine_for(ref)).inspect(ref)
    return ImageResult(reference=ref, image=info)
