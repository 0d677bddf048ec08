"""Typed documents the engine package produces (tool results embed them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BuildStep(_Model):
    number: int = Field(description="Step number as the engine counts it (1-based).")
    total: int | None = Field(None, description="Steps in the build (or in the stage, for BuildKit).")
    stage: str | None = Field(None, description="Build stage name (BuildKit only).")
    instruction: str = Field(description="The instruction as the engine printed it.")
    line: int | None = Field(None, description="Dockerfile line of the instruction, when found.")
    cached: bool = Field(False, description="The step's layer came from the build cache.")
    duration_s: float = Field(0.0, description="Wall time of the step.")


class CacheInfo(_Model):
    steps: int = Field(description="Steps executed or taken from cache.")
    cached: int = Field(description="Steps whose layer came from the build cache.")


class StrategyChoice(_Model):
    name: str = Field(description="buildkit, docker or podman.")
    reason: str = Field(description="Why this strategy was chosen (and what was checked).")
    endpoint: str = Field(description="Engine address, or the buildx plugin for BuildKit.")
    skipped: list[str] = Field(
        default_factory=list, description="Strategies considered first and why they were not used."
    )


class ImageInfo(_Model):
    id: str
    repo_tags: list[str] = Field(default_factory=list)
    repo_digests: list[str] = Field(default_factory=list)
    size_bytes: int = 0
    layers: int = 0
    created: str = ""
    architecture: str = ""
    os: str = ""
    labels: dict[str, str] = Field(default_factory=dict)


class LayerProgress(_Model):
    layer: str
    status: str
    current: int | None = None
    total: int | None = None


class TransferOutcome(_Model):
    reference: str = Field(description="The normalised reference pushed or pulled.")
    digest: str | None = Field(None, description="Manifest digest reported by the engine.")
    layers: int = Field(0, description="Layers seen in the progress stream.")
    layers_existing: int = Field(0, description="Layers already present at the destination.")
    bytes: int = Field(0, description="Bytes of the layers transferred, from the engine's progress.")
    duration_s: float = 0.0
