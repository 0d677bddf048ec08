"""Session tools: list, show, delete, label, job status, server status."""

from __future__ import annotations

from pydantic import Field

from containerkit import __version__
from containerkit.store import ArtifactInfo, ErrorRecord, JobRecord, SessionDetail, SessionInfo, StoreCounts
from containerkit.tools.base import Model, ToolContext, ToolParams, ToolResult
from containerkit.tools.registry import REGISTRY


class ListSessionsParams(ToolParams):
    label: str | None = Field(None, description="Only sessions carrying this label.")


class ListSessionsResult(ToolResult):
    sessions: list[SessionInfo]


@REGISTRY.tool(
    "list_sessions",
    effects=(),
    title="List sessions",
    group="sessions",
    idempotent=True,
    tracked=False,
    description="List live sessions (most recently used first), optionally filtered by label.",
    params=ListSessionsParams,
    result=ListSessionsResult,
)
async def list_sessions(ctx: ToolContext, params: ListSessionsParams) -> ListSessionsResult:
    return ListSessionsResult(sessions=ctx.store.list_sessions(params.label))


class SessionIdParams(ToolParams):
    session_id: str = Field(description="The session id.")


class GetSessionResult(ToolResult):
    session: SessionDetail
    jobs: list[JobRecord] = Field(description="Most recent first (up to 20; get_job_status for any job).")
    errors: list[ErrorRecord] = Field(description="Most recent first (up to 10).")
    artifacts: list[ArtifactInfo]


@REGISTRY.tool(
    "get_session",
    effects=(),
    title="Show a session",
    group="sessions",
    idempotent=True,
    description="Show one session: its state document, labels, recent jobs, errors and artifacts.",
    params=SessionIdParams,
    result=GetSessionResult,
)
async def get_session(ctx: ToolContext, params: SessionIdParams) -> GetSessionResult:
    store, sid = ctx.store, ctx.session.id
    return GetSessionResult(
        session=store.get_session(sid),
        jobs=store.list_jobs(sid, limit=20),
        errors=store.list_errors(sid, limit=10),
        artifacts=store.list_artifacts(sid),
    )


class DeleteSessionResult(ToolResult):
    deleted: str


@REGISTRY.tool(
    "delete_session",
    effects=("updates_store",),
    title="Delete a session",
    group="sessions",
    tracked=False,
    description="Delete a session, its jobs, errors, artifacts and workspace directory.",
    params=SessionIdParams,
    result=DeleteSessionResult,
)
async def delete_session(ctx: ToolContext, params: SessionIdParams) -> DeleteSessionResult:
    ctx.store.delete_session(params.session_id)
    return DeleteSessionResult(deleted=params.session_id)


class LabelParams(ToolParams):
    session_id: str = Field(description="The session id.")
    label: str = Field(
        min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/=-]*$", description="Label text."
    )


class SessionResult(ToolResult):
    session: SessionInfo


@REGISTRY.tool(
    "add_session_label",
    effects=("adds_to_store",),
    title="Label a session",
    group="sessions",
    idempotent=True,
    description="Add a label to a session (labels filter list_sessions).",
    params=LabelParams,
    result=SessionResult,
)
async def add_session_label(ctx: ToolContext, params: LabelParams) -> SessionResult:
    return SessionResult(session=ctx.store.set_labels(ctx.session.id, add=[params.label]))


@REGISTRY.tool(
    "remove_session_label",
    effects=("updates_store",),
    title="Unlabel a session",
    group="sessions",
    idempotent=True,
    description="Remove a label from a session.",
    params=LabelParams,
    result=SessionResult,
)
async def remove_session_label(ctx: ToolContext, params: LabelParams) -> SessionResult:
    return SessionResult(session=ctx.store.set_labels(ctx.session.id, remove=[params.label]))


class JobParams(ToolParams):
    job_id: str = Field(description="A job id from an earlier tool result.")


class JobResult(ToolResult):
    job: JobRecord


@REGISTRY.tool(
    "get_job_status",
    effects=(),
    title="Job status",
    group="sessions",
    idempotent=True,
    tracked=False,
    description="Status, timing and error of one tool invocation (job).",
    params=JobParams,
    result=JobResult,
)
async def get_job_status(ctx: ToolContext, params: JobParams) -> JobResult:
    job = ctx.store.get_job(params.job_id)
    return JobResult(job=job, session_id=job.session_id)


class StatusParams(ToolParams):
    check_engine: bool = Field(True, description="Ping the container engine (costs a round trip).")


class EngineStatus(Model):
    reachable: bool
    detail: str = Field(description="Engine version, or why it is unreachable.")


class ServerStatusResult(ToolResult):
    version: str
    store_path: str
    schema_version: int
    counts: StoreCounts
    engine: EngineStatus | None
    tools: int


@REGISTRY.tool(
    "server_status",
    effects=(),
    title="Server status",
    group="general",
    idempotent=True,
    tracked=False,
    description="Version, session store path and counts, and whether the container engine answers.",
    params=StatusParams,
    result=ServerStatusResult,
)
async def server_status(ctx: ToolContext, params: StatusParams) -> ServerStatusResult:
    engine = await _engine_status(ctx) if params.check_engine else None
    return ServerStatusResult(
        version=__version__,
        store_path=ctx.store.location,
        schema_version=ctx.store.db.schema_version(),
        counts=ctx.store.counts(),
        engine=engine,
        tools=len(REGISTRY.names()),
    )


async def _engine_status(ctx: ToolContext) -> EngineStatus:

    reachable, detail = await ctx.engines().default.ping()
    return EngineStatus(reachable=reachable, detail=detail)
