"""Workflow tools: run, validate, list, status, cancel, resume custom YAML workflows."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from pydantic import Field, JsonValue, model_validator

from containerkit.errors import ContainerKitError
from containerkit.findings import Finding
from containerkit.store import owner
from containerkit.store.runs import RunEvent, RunRecord
from containerkit.tools.base import Model, Services, ToolContext, ToolParams, ToolResult, ValidateResult
from containerkit.tools.files import FileWrite, write_file
from containerkit.tools.registry import REGISTRY
from containerkit.workflow.runner import WorkflowRunner, run_failed_error
from containerkit.workflow.spec import WorkflowSpec, load_spec, validate_spec


class SpecSource(ToolParams):
    spec_path: str | None = Field(None, description="Path of a workflow YAML file (inside the allowed roots).")
    spec: str | None = Field(None, description="The workflow YAML text itself (instead of spec_path).")

    @model_validator(mode="after")
    def _one_source(self) -> SpecSource:
        if (self.spec_path is None) == (self.spec is None):
            raise ValueError("give exactly one of spec_path or spec")
        return self


def _load(ctx: ToolContext, params: SpecSource) -> WorkflowSpec:
    if params.spec_path is not None:
        return load_spec(ctx.resolve_path(params.spec_path))
    return load_spec(params.spec or "")


APPLY_FIXES_DESCRIPTION = (
    "Write failure fixes over files you wrote (your previous content is kept as an artifact). "
    "Default false: such a fix is stored as a proposal artifact with a diff, and the run stops there."
)


class RunParams(SpecSource):
    inputs: dict[str, JsonValue] = Field(default_factory=dict, description="Values for the workflow's inputs.")
    max_parallel: int | None = Field(None, ge=1, le=32, description="Override the parallelism limit.")
    apply_fixes: bool = Field(False, description=APPLY_FIXES_DESCRIPTION)


class StepSummary(Model):
    id: str
    tool: str
    status: str
    attempts: int
    duration_s: float | None
    error_code: str | None
    reason: str | None


class RunRef(Model):
    """A workflow run, by id: its steps and their outputs are stored once, in the run (get_workflow_status)."""

    run_id: str
    name: str
    status: str


class RunResult(ToolResult):
    run_id: str
    name: str
    status: str
    steps: list[StepSummary]
    events: list[RunEvent] = Field(description="Retries, routes, resumes and cancellations, in order.")
    outputs: dict[str, JsonValue] = Field(description="Each succeeded step's result document, by step id.")

    def kept(self) -> RunRef:
        return RunRef(run_id=self.run_id, name=self.name, status=self.status)


def summarize(ctx: ToolContext, run: RunRecord) -> RunResult:
    spec = WorkflowSpec.model_validate(run.spec)
    tools = {s.id: s.tool for s in spec.steps}
    return RunResult(
        run_id=run.id,
        name=run.name,
        status=run.status,
        steps=[
            StepSummary(
                id=s.step_id,
                tool=tools.get(s.step_id, "?"),
                status=s.status,
                attempts=s.attempts,
                duration_s=(s.ended_at - s.started_at) if s.ended_at and s.started_at else None,
                error_code=s.error_code,
                reason=s.reason,
            )
            for s in run.steps
        ],
        events=ctx.store.runs.events(run.id),
        outputs={s.step_id: s.outputs for s in run.steps if s.outputs is not None},
    )


def _raise_unless_succeeded(ctx: ToolContext, run: RunRecord) -> RunResult:
    result = summarize(ctx, run)
    if run.status != "succeeded":
        err = run_failed_error(run)
        err.details["steps"] = [s.model_dump(mode="json") for s in result.steps]
        _explain_failure(ctx, run, err)
        raise err
    return result


def _explain_failure(ctx: ToolContext, run: RunRecord, err: ContainerKitError) -> None:
    """Give the run's error what the failing step's own error said: its hint, its details, and the routing advice."""
    failed = next((s for s in run.steps if s.status == "failed"), None)
    if failed is None or failed.job_id is None:
        return
    recorded = next((e for e in ctx.store.list_errors(run.session_id, limit=200) if e.job_id == failed.job_id), None)
    advice = [
        str(e.detail.get("reason"))
        for e in ctx.store.runs.events(run.id)
        if e.kind == "route" and e.step_id == failed.step_id and e.detail.get("reason")
    ]
    if recorded is not None:
        err.hint = recorded.hint
        err.details["step_error"] = {k: v for k, v in recorded.details.items() if k not in ("job_id", "session_id")}
    if advice:
        err.hint = f"{advice[-1]}. {err.hint}" if recorded is not None else advice[-1]
        err.details["routing"] = advice[-1]


def _runner(ctx: ToolContext, max_parallel: int | None = None, *, apply_fixes: bool = False) -> WorkflowRunner:
    from containerkit.workflow.routing import default_router

    return WorkflowRunner(
        REGISTRY,
        ctx.services,
        progress=ctx.progress,
        sampler=ctx.sampler,
        client_roots=ctx.client_roots,
        router=default_router(ctx.services),
        max_parallel=max_parallel,
        apply_fixes=apply_fixes,
        owner=ctx,
        lease_s=ctx.services.run_lease_s,
    )


def takeover_runner(services: Services, run_id: str) -> WorkflowRunner:
    """The runner a server resumes run ``run_id`` with after taking it over (no client: no progress, sampling or
    roots), applying fixes as the run's starter asked."""
    from containerkit.workflow.routing import default_router

    return WorkflowRunner(
        REGISTRY,
        services,
        router=default_router(services),
        lease_s=services.run_lease_s,
        apply_fixes=services.store.runs.get(run_id).apply_fixes,
    )


@REGISTRY.tool(
    "execute_custom_workflow",
    effects=("runs_workflow",),
    title="Run a custom workflow",
    group="workflow",
    description="Validate and run a YAML workflow of tool steps (depends_on, when, retries, timeout, on_failure "
    "routes, "
    "${{ steps.X.outputs.Y }} references). The run is durable: resume it after a crash with resume_workflow.",
    params=RunParams,
    result=RunResult,
)
async def execute_custom_workflow(ctx: ToolContext, params: RunParams) -> RunResult:
    spec = _load(ctx, params)
    run = await _runner(ctx, params.max_parallel, apply_fixes=params.apply_fixes).start(
        spec, params.inputs, ctx.session.id
    )
    return _raise_unless_succeeded(ctx, run)


class ValidateWorkflowResult(ValidateResult):
    name: str
    steps: int


@REGISTRY.tool(
    "validate_workflow",
    effects=(),
    title="Validate a workflow",
    group="workflow",
    idempotent=True,
    tracked=False,
    description="Check a workflow spec without running it: unknown tools, wrong params for a tool, unknown step "
    "references, cycles, unreachable steps.",
    params=SpecSource,
    result=ValidateWorkflowResult,
)
async def validate_workflow(ctx: ToolContext, params: SpecSource) -> ValidateWorkflowResult:
    spec = _load(ctx, params)
    problems = [Finding(rule="CK-WORKFLOW", severity="error", message=p) for p in validate_spec(spec, REGISTRY)]
    return ValidateWorkflowResult.of(problems, name=spec.name, steps=len(spec.steps))


class RunIdParams(ToolParams):
    run_id: str = Field(description="A workflow run id.")


class ResumeParams(RunIdParams):
    apply_fixes: bool = Field(
        False,
        description="First write the fixes the run proposed (review their diff artifacts), then "
        "resume; fixes found while resuming are written too. " + APPLY_FIXES_DESCRIPTION.split(". ")[0] + ".",
    )


class ListRunsParams(ToolParams):
    limit: int = Field(50, ge=1, le=500)


class RunBrief(Model):
    run_id: str
    session_id: str
    name: str
    status: str
    created_at: float
    updated_at: float
    steps_done: int
    steps_total: int


class ListRunsResult(ToolResult):
    runs: list[RunBrief]


@REGISTRY.tool(
    "list_workflow_runs",
    effects=(),
    title="List workflow runs",
    group="workflow",
    idempotent=True,
    tracked=False,
    description="Workflow runs, newest first (of one session when session_id is given).",
    params=ListRunsParams,
    result=ListRunsResult,
)
async def list_workflow_runs(ctx: ToolContext, params: ListRunsParams) -> ListRunsResult:
    runs = ctx.store.runs.list_runs(params.session_id, params.limit)
    return ListRunsResult(
        runs=[
            RunBrief(
                run_id=r.id,
                session_id=r.session_id,
                name=r.name,
                status=r.status,
                created_at=r.created_at,
                updated_at=r.updated_at,
                steps_total=len(r.steps),
                steps_done=sum(1 for s in r.steps if s.status in ("succeeded", "skipped", "failed", "cancelled")),
            )
            for r in runs
        ]
    )


@REGISTRY.tool(
    "get_workflow_status",
    effects=(),
    title="Workflow run status",
    group="workflow",
    idempotent=True,
    tracked=False,
    description="Every step's state, attempts, timing and error, plus the run's routing events and step outputs.",
    params=RunIdParams,
    result=RunResult,
)
async def get_workflow_status(ctx: ToolContext, params: RunIdParams) -> RunResult:
    run = ctx.store.runs.get(params.run_id)
    return summarize(ctx, run).model_copy(update={"session_id": run.session_id})


class CancelResult(ToolResult):
    run_id: str
    status: str


@REGISTRY.tool(
    "cancel_workflow",
    effects=("updates_store",),
    title="Cancel a workflow run",
    group="workflow",
    tracked=False,
    description="Ask a running workflow to stop: running steps are cancelled and the rest marked cancelled.",
    params=RunIdParams,
    result=CancelResult,
)
async def cancel_workflow(ctx: ToolContext, params: RunIdParams) -> CancelResult:
    runs = ctx.store.runs
    status = runs.request_cancel(params.run_id)
    run = runs.get(params.run_id)
    if status == "cancelling" and (run.pid is None or (run.pid != os.getpid() and owner.gone(run.owner, run.pid))):
        # nobody is executing it (crashed): finish the cancellation here
        for step in run.steps:
            if step.status in ("pending", "running"):
                runs.set_step(run.id, step.step_id, "cancelled", reason="cancelled by request")
        runs.set_run(run.id, "cancelled")
        status = "cancelled"
    return CancelResult(run_id=params.run_id, status=status, session_id=run.session_id)


@REGISTRY.tool(
    "resume_workflow",
    effects=("runs_workflow",),
    title="Resume a workflow run",
    group="workflow",
    tracked=False,
    description="Continue a failed, cancelled or crashed run from its first unfinished step; completed steps are not "
    "redone.",
    params=ResumeParams,
    result=RunResult,
)
async def resume_workflow(ctx: ToolContext, params: ResumeParams) -> RunResult:
    # untracked: the run's own session holds its artifacts (proposals, the files fixes replace)
    ctx = dataclasses.replace(ctx, session=ctx.store.session_info(ctx.store.runs.get(params.run_id).session_id))
    if params.apply_fixes:
        apply_proposals(ctx, params.run_id)
    run = await _runner(ctx, apply_fixes=params.apply_fixes).resume(params.run_id)
    return _raise_unless_succeeded(ctx, run).model_copy(update={"session_id": run.session_id})


def apply_proposals(ctx: ToolContext, run_id: str) -> list[FileWrite]:
    """Write the fixes a run proposed (the latest proposal per file), keeping the files they replace as artifacts."""
    runs = ctx.store.runs
    run = runs.get(run_id)
    latest: dict[str, FileWrite] = {}
    for event in runs.events(run_id):
        proposal = event.detail.get("proposal") if event.kind == "route" else None
        if isinstance(proposal, dict):
            write = FileWrite.model_validate(proposal)
            latest[write.path] = write
    applied = []
    for write in latest.values():
        if write.proposal_artifact is None:
            continue
        _, content = ctx.store.get_artifact(write.proposal_artifact)
        target = Path(write.path)
        done = write_file(ctx, target.parent, target, content.decode("utf-8"), replace=True, kind="fix_dockerfile")
        runs.add_event(run.id, "fix_applied", done.model_dump(mode="json"))
        applied.append(done)
    return applied
