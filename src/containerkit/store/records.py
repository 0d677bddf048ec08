"""Typed records read from the session store (pydantic, frozen)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SessionInfo(_Record):
    id: str
    created_at: float = Field(description="Unix time.")
    last_access: float
    expires_at: float
    workspace_dir: str
    labels: list[str]
    version: int = Field(description="Bumped on every state change (optimistic concurrency).")
    state_keys: list[str] = Field(description="Top-level keys of the session state document.")


class SessionDetail(SessionInfo):
    state: dict[str, Any]


class JobRecord(_Record):
    id: str
    session_id: str
    tool: str
    params: dict[str, Any] = Field(description="Parameters with secrets redacted.")
    status: JobStatus
    queued_at: float
    started_at: float | None
    ended_at: float | None
    duration_ms: float | None
    error_code: str | None
    error_message: str | None
    owner: str | None = Field(None, description="host:pid:start of the process that ran it.")


class ErrorRecord(_Record):
    id: int
    session_id: str
    job_id: str | None
    tool: str | None
    code: str
    message: str
    hint: str
    details: dict[str, Any]
    created_at: float


class ArtifactInfo(_Record):
    id: str
    session_id: str
    job_id: str | None
    kind: str = Field(description="dockerfile, dockerignore, manifests, build_log, scan_report, sbom, report, ...")
    name: str
    media_type: str
    path: str | None = Field(description="File path when stored on disk rather than inline.")
    digest: str = Field(description="sha256:<hex> of the content.")
    size: int
    created_at: float


class StoreCounts(_Record):
    sessions: int
    jobs: int
    running_jobs: int
    artifacts: int
    errors: int
