"""The DAG runner: parallel steps, conditions, retries, timeouts, failure routes, durable state, resume, cancel.

Every state change is written to the run store before the runner moves on, so a
run killed at any point resumes from its first unfinished step (``resume``)
without redoing completed ones.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, JsonValue

from containerkit import logs, metrics, tracing
from containerkit.errors import (
    CancelledError_,
    ConflictError,
    ContainerKitError,
    TimeoutError_,
    WorkflowError,
    wrap_unexpected,
)
from containerkit.store import owner
from containerkit.store.runs import RunRecord, StepStatus
from containerkit.tools.base import (
    InputNeeded,
    NullProgress,
    Progress,
    Sampler,
    Services,
    StepEvent,
    StepEventSink,
    ToolContext,
    input_needed,
    read_as,
)
from containerkit.tools.registry import ToolRegistry
from containerkit.workflow import expr
from containerkit.workflow.spec import StepSpec, WorkflowSpec, validate_spec

log = logging.getLogger("containerkit.workflow")

_TERMINAL: frozenset[StepStatus] = frozenset({"succeeded", "failed", "skipped", "cancelled"})
CANCEL_POLL_S = 0.25


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RouteDecision:
    """What a failure router decided: retry the step with changed params, or give up."""

    action: str  # "retry" | "give_up" | "skip" (the step is marked skipped with the reason; dependents see it skipped)
    reason: str
    params: dict[str, JsonValue] = field(default_factory=dict)
    detail: dict[str, JsonValue] = field(default_factory=dict)


@dataclass
class FailureContext:
    run_id: str
    session_id: str
    step: StepSpec
    params: dict[str, JsonValue]
    error: ContainerKitError
    attempt: int
    #: the run so far: ``{"inputs": {...}, "steps": {id: {"status", "outputs", "error"}}}`` (read it with
    #: :meth:`step_result` and :meth:`input`)
    context: dict[str, JsonValue]
    sampler: Sampler | None = None
    progress: Progress | None = None
    #: the caller asked for fixes to be written over files the user wrote (else they are proposals)
    apply_fixes: bool = False
    #: the context of the tool running the workflow: fixers write files and store artifacts through it
    owner: ToolContext | None = None
    #: the registry the run calls its tools from: a fixer calls tools (generate_dockerfile, …) from the same one
    registry: ToolRegistry | None = None

    def step_result(self, step_id: str, model: type[M]) -> M | None:
        """A step's outputs read as its tool's result model (None when it has none yet, or another shape)."""
        steps = self.context.get("steps")
        step = steps.get(step_id) if isinstance(steps, dict) else None
        return read_as(model, step.get("outputs") if isinstance(step, dict) else None)

    def input(self, name: str) -> JsonValue:
        inputs = self.context.get("inputs")
        return inputs.get(name) if isinstance(inputs, dict) else None


Router = Callable[[FailureContext], Awaitable[RouteDecision | None]]


class WorkflowRunner:
    def __init__(
        self,
        registry: ToolRegistry,
        services: Services,
        *,
        progress: Progress | None = None,
        sampler: Sampler | None = None,
        client_roots: list[Path] | None = None,
        router: Router | None = None,
        max_parallel: int | None = None,
        apply_fixes: bool = False,
        owner: ToolContext | None = None,
        lease_s: float | None = None,
    ) -> None:
        self.registry = registry
        self.services = services
        self.runs = services.store.runs
        self.progress = progress or NullProgress()
        self.sampler = sampler
        self.client_roots = client_roots or []
        self.router = router
        self.apply_fixes = apply_fixes
        self.owner = owner
        #: a server's runs are held under a lease renewed while they run (another server takes a lapsed one over)
        self.lease_s = lease_s
        self.max_parallel = max_parallel or services.settings.workflow.max_parallel

    # --- entry points -------------------------------------------------------------------
    async def start(self, spec: WorkflowSpec, inputs: Mapping[str, object], session_id: str) -> RunRecord:
        """Validate and run a workflow to its end.

        Raises:
            WorkflowError: the spec has problems (all of them listed in details).
        """
        merged = {**spec.inputs, **inputs}
        problems = validate_spec(spec, self.registry, merged)  # every parameter, before the first step runs
        if problems:
            raise WorkflowError(
                f"workflow {spec.name!r} is invalid: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                details={"problems": list(problems)},
            )
        run_id = self.runs.create(
            session_id,
            spec.name,
            spec.model_dump(mode="json"),
            merged,
            [s.id for s in spec.steps],
            os.getpid(),
            lease_s=self.lease_s,
            apply_fixes=self.apply_fixes,
        )
        return await self._execute(run_id)

    async def resume(self, run_id: str) -> RunRecord:
        """Continue a run from its first unfinished step; completed steps are kept, not redone.

        Raises:
            ConflictError: the run is still being executed by a live process.
        """
        self.services.store.reclaim()  # a run (and its jobs) whose process died is failed now, with the reason
        run = self.runs.get(run_id)
        if run.status == "succeeded":
            return run
        if run.status in ("running", "cancelling") and run.pid != os.getpid() and not owner.gone(run.owner, run.pid):
            raise ConflictError(
                f"run {run_id} is still running in process {run.pid}",
                hint="Wait for it, or cancel it with {tool:cancel_workflow}.",
            )
        kept = [s.step_id for s in run.steps if s.status == "succeeded"]
        for step in run.steps:
            if step.status != "succeeded":
                self.runs.set_step(run_id, step.step_id, "pending", reason="reset by resume")
        self.runs.add_event(run_id, "resume", {"kept": kept, "previous_status": run.status})
        self.runs.set_run(run_id, "running", pid=os.getpid())
        if self.lease_s is not None:
            self.runs.renew_lease(run_id, self.lease_s)
        return await self._execute(run_id)

    # --- execution -----------------------------------------------------------------------
    async def _execute(self, run_id: str) -> RunRecord:
        with logs.bind(run=run_id), tracing.span("workflow run"):
            return await self._execute_bound(run_id)

    async def _execute_bound(self, run_id: str) -> RunRecord:
        run = self.runs.get(run_id)
        spec = WorkflowSpec.model_validate(run.spec)
        state = _RunState(
            spec,
            run,
            self.max_parallel if spec.max_parallel is None else min(spec.max_parallel, self.max_parallel),
            self.progress,
        )
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watch_cancel, run_id, tg.cancel_scope, state)
                await self._schedule(run_id, state, tg)
                tg.cancel_scope.cancel()  # stops the watcher once every step is done
        except anyio.get_cancelled_exc_class():
            self._finish_cancelled(run_id, state, "cancelled by the caller")
            raise
        except (InputNeeded, BaseExceptionGroup) as e:
            need = input_needed(e)
            if need is None:
                raise
            self._finish_cancelled(
                run_id, state, f"stopped to ask the client ({need}); the call is repeated with the answer"
            )
            raise need from None
        if state.lease_lost:
            return self.runs.get(run_id)  # its new owner finishes it
        if state.cancel_requested:
            self._finish_cancelled(run_id, state, "cancelled by request")
        else:
            self._finish(run_id, state)
        return self.runs.get(run_id)

    async def _schedule(self, run_id: str, state: _RunState, tg: anyio.abc.TaskGroup) -> None:
        limiter = anyio.CapacityLimiter(state.max_parallel)
        while True:
            # a skipped step can make its dependents ready at once: schedule until nothing more becomes ready
            while ready := state.ready():
                for step in ready:
                    reason = state.skip_reason(step)
                    if reason:
                        state.status[step.id] = "skipped"
                        self.runs.set_step(run_id, step.id, "skipped", reason=reason)
                        await state.progress.state(step.id, "skipped", reason)
                        continue
                    state.status[step.id] = "running"
                    tg.start_soon(self._run_step, run_id, step, state, limiter)
            if state.finished():
                for step_id in state.never_ran():
                    state.status[step_id] = "skipped"
                    self.runs.set_step(run_id, step_id, "skipped", reason="not routed to: no step it handles failed")
                return
            await state.changed.wait()
            state.changed = anyio.Event()

    async def _run_step(self, run_id: str, step: StepSpec, state: _RunState, limiter: anyio.CapacityLimiter) -> None:
        async with limiter:
            await state.progress.state(step.id, "running")
            outcome: StepStatus
            try:
                with tracing.span(f"step {step.id}", step=step.id, step_tool=step.tool):
                    result, job_id = await self._attempts(run_id, step, state)
                outcome = "succeeded"
                state.results[step.id] = {"status": "succeeded", "outputs": result, "error": None}
                self.runs.set_step(run_id, step.id, "succeeded", outputs=result, job_id=job_id)
            except _Skipped as skip:
                outcome = "skipped"
                state.optional.add(step.id)
                state.results[step.id] = {"status": "skipped", "outputs": None, "error": None}
                self.runs.set_step(run_id, step.id, "skipped", reason=skip.reason)
            except ContainerKitError as e:
                outcome = "failed"
                state.results[step.id] = {
                    "status": "failed",
                    "outputs": None,
                    "error": {"code": e.code, "message": e.message},
                }
                state.errors[step.id] = e
                self.runs.set_step(run_id, step.id, "failed", error=e, job_id=_job_of(e))
                for target in step.on_failure:
                    state.activated.add(target)
                    self.runs.add_event(
                        run_id, "route", {"from": step.id, "to": target, "code": e.code}, step_id=step.id
                    )
            state.status[step.id] = outcome
            metrics.workflow_step(step.tool, outcome)
            await state.progress.state(step.id, outcome)
            state.changed.set()

    async def _attempts(self, run_id: str, step: StepSpec, state: _RunState) -> tuple[dict[str, Any], str]:
        overrides: dict[str, Any] = {}
        attempt = 0
        while True:
            attempt += 1
            self.runs.set_step(run_id, step.id, "running", attempt=True)
            params = {**expr.render_params(step.params, state.context()), **overrides, "session_id": state.session_id}
            try:
                with anyio.fail_after(step.timeout_s):
                    result = await self.registry.call(
                        self.services,
                        step.tool,
                        params,
                        progress=StepProgress(state.progress, step.id),
                        sampler=self.sampler,
                        client_roots=self.client_roots,
                        decider=self.owner.decider if self.owner is not None else None,
                    )
                return result.model_dump(mode="json"), result.job_id
            except TimeoutError as e:
                error: ContainerKitError = TimeoutError_(f"step {step.id} did not finish within {step.timeout_s:g}s")
                error.__cause__ = e
            except ContainerKitError as e:
                error = e
            if attempt <= step.retries and error.retryable:  # the error decides: a deterministic failure is not rebuilt
                delay = error.retry_delay(step.retry_backoff_s * (2 ** (attempt - 1)))
                self.runs.add_event(
                    run_id, "retry", {"attempt": attempt, "code": error.code, "delay_s": delay}, step_id=step.id
                )
                await anyio.sleep(delay)
                continue
            decision = await self._route(run_id, step, params, error, attempt, state)
            if decision is not None and decision.action == "skip":
                raise _Skipped(decision.reason)
            if decision is None or decision.action != "retry":
                if decision is not None:
                    error.details.setdefault("routing", decision.reason)
                raise error
            overrides.update(decision.params)

    async def _route(
        self,
        run_id: str,
        step: StepSpec,
        params: dict[str, Any],
        error: ContainerKitError,
        attempt: int,
        state: _RunState,
    ) -> RouteDecision | None:
        if self.router is None:
            return None
        failure = FailureContext(
            run_id,
            state.session_id,
            step,
            params,
            error,
            attempt,
            state.context(),
            self.sampler,
            StepProgress(state.progress, step.id),
            self.apply_fixes,
            self.owner,
            self.registry,
        )
        try:
            decision = await self.router(failure)
        except ContainerKitError as e:
            self.runs.add_event(
                run_id, "route_failed", {"code": error.code, "fixer_error": e.to_dict()}, step_id=step.id
            )
            return None
        if decision is not None:
            self.runs.add_event(
                run_id,
                "route",
                {
                    "code": error.code,
                    "action": decision.action,
                    "reason": decision.reason,
                    "params": decision.params,
                    **decision.detail,
                },
                step_id=step.id,
            )
        return decision

    async def _watch_cancel(self, run_id: str, scope: anyio.CancelScope, state: _RunState) -> None:
        """Poll for a cancel request; under a lease, renew it (the heartbeat) every third of its length."""
        renewed = time.monotonic()
        while True:
            await anyio.sleep(CANCEL_POLL_S)
            if self.runs.run_status(run_id) == "cancelling":
                state.cancel_requested = True
                scope.cancel()
                return
            if self.lease_s is not None and time.monotonic() - renewed >= self.lease_s / 3:
                renewed = time.monotonic()
                if not self.runs.renew_lease(run_id, self.lease_s):
                    log.warning("workflow run %s was taken over by another server: this one stops executing it", run_id)
                    state.lease_lost = True
                    scope.cancel()
                    return

    def _finish_cancelled(self, run_id: str, state: _RunState, reason: str) -> None:
        for step_id, status in state.status.items():
            if status not in _TERMINAL:
                self.runs.set_step(run_id, step_id, "cancelled", reason=reason)
        self.runs.add_event(run_id, "cancel", {"reason": reason})
        self.runs.set_run(run_id, "cancelled", CancelledError_(f"workflow {reason}"))
        metrics.workflow_run(_kind(state.spec), "cancelled")

    def _finish(self, run_id: str, state: _RunState) -> None:
        failed = [
            s
            for s in state.spec.steps
            if state.status[s.id] == "failed" and not s.continue_on_error and not state.route_recovered(s)
        ]
        if failed:
            first = state.errors[failed[0].id]
            err = WorkflowError(
                f"step {failed[0].id} failed: {first.code}: {first.message}", code=first.code, hint=first.hint
            )
            self.runs.set_run(run_id, "failed", err)
        else:
            self.runs.set_run(run_id, "succeeded")
        metrics.workflow_run(_kind(state.spec), "failed" if failed else "succeeded")


def _kind(spec: WorkflowSpec) -> str:
    """The metrics label of a run: the built-in pipeline, or a user's workflow (whose names are not bounded)."""
    return "containerize" if spec.name == "containerize" else "custom"


class _Skipped(Exception):  # noqa: N818 - control flow inside the runner, never escapes it
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunProgress:
    """One progress scale for the whole run: 0 to the number of steps. A finished (or skipped) step counts 1, a
    running one the fraction of its own scale it reported, so the value only grows, whatever scale each tool uses
    and however many steps run in parallel."""

    def __init__(self, parent: Progress, steps: list[StepSpec], done: set[str]) -> None:
        self.parent = parent
        self.total = float(len(steps))
        self.fraction: dict[str, float] = {s.id: (1.0 if s.id in done else 0.0) for s in steps}
        self.last = -1.0

    async def step(self, step_id: str, fraction: float, message: str | None, event: StepEvent | None = None) -> None:
        self.fraction[step_id] = max(self.fraction.get(step_id, 0.0), min(max(fraction, 0.0), 1.0))
        value = max(self.last, sum(self.fraction.values()))
        self.last = value
        await self.parent.report(value, self.total, message)
        if event is not None and isinstance(self.parent, StepEventSink):
            await self.parent.step_event(event)

    async def state(self, step_id: str, state: str, reason: str = "") -> None:
        """A step changed state: ``step ID: STATE (REASON)`` for progress readers, the event for event sinks."""
        message = f"step {step_id}: {state}" + (f" ({reason})" if reason else "")
        done = 0.0 if state == "running" else 1.0
        await self.step(step_id, done, message, StepEvent(step_id, state, reason))


class StepProgress:
    """A step's own progress, mapped into its share of the run's scale; messages read ``[step] message``."""

    def __init__(self, run: RunProgress, step_id: str) -> None:
        self.run = run
        self.step_id = step_id

    async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        # a step reporting without a total says nothing about how far it is: the value stays, the message goes out
        fraction = progress / total if total else 0.0
        await self.run.step(
            self.step_id,
            min(fraction, 0.999),
            f"[{self.step_id}] {message}" if message else None,
            StepEvent(self.step_id, None, message) if message else None,
        )


class _RunState:
    """In-memory view of one run while it executes (the store holds the durable copy)."""

    def __init__(self, spec: WorkflowSpec, run: RunRecord, max_parallel: int, progress: Progress) -> None:
        self.spec = spec
        self.session_id = run.session_id
        self.inputs = run.inputs
        self.max_parallel = max_parallel
        self.status: dict[str, StepStatus] = {s.step_id: s.status for s in run.steps}
        self.results: dict[str, dict[str, Any]] = {
            s.step_id: {"status": s.status, "outputs": s.outputs, "error": None}
            for s in run.steps
            if s.status == "succeeded"
        }
        self.errors: dict[str, ContainerKitError] = {}
        self.activated: set[str] = set()
        #: steps a routing rule skipped as not applicable (e.g. no scanner database): their dependents still run
        self.optional: set[str] = set()
        self.changed = anyio.Event()
        self.cancel_requested = False
        self.lease_lost = False  # another server took the run over: stop without writing its end
        self.progress = RunProgress(
            progress, spec.steps, {step_id for step_id, st in self.status.items() if st in _TERMINAL}
        )

    def context(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "steps": dict(self.results)}

    def ready(self) -> list[StepSpec]:
        out = []
        for step in self.spec.steps:
            if self.status[step.id] != "pending":
                continue
            if step.route_only and step.id not in self.activated:
                continue
            if all(self.status.get(d) in _TERMINAL for d in step.depends_on):
                out.append(step)
        return out

    def skip_reason(self, step: StepSpec) -> str | None:
        """Why ``step`` must not run, or None. The step's own false condition is the better explanation, so it comes
        first."""
        blocked = self._blocked_by(step)
        if step.when is not None:
            try:
                if not expr.evaluate(step.when, self.context()):
                    return step.skip_reason or f"condition is false: {step.when}"
            except WorkflowError as e:
                return blocked or f"condition could not be evaluated: {e.message}"
        return blocked

    def _blocked_by(self, step: StepSpec) -> str | None:
        for dep in step.depends_on:
            dep_status = self.status[dep]
            dep_spec = self.spec.step(dep)
            if dep_status == "failed" and not dep_spec.continue_on_error:
                return f"dependency {dep} failed"
            if dep_status in ("skipped", "cancelled") and not dep_spec.continue_on_error and dep not in self.optional:
                return f"dependency {dep} was {dep_status}"
        return None

    def finished(self) -> bool:
        if any(s == "running" for s in self.status.values()):
            return False
        return not self.ready()

    def never_ran(self) -> list[str]:
        """Steps still pending when nothing else can run (route-only, never routed to)."""
        return [s.id for s in self.spec.steps if self.status[s.id] == "pending"]

    def route_recovered(self, step: StepSpec) -> bool:
        """A failure is handled when it routed somewhere and every route target succeeded."""
        return bool(step.on_failure) and all(self.status.get(t) == "succeeded" for t in step.on_failure)


def _job_of(error: ContainerKitError) -> str | None:
    job = error.details.get("job_id")
    return job if isinstance(job, str) else None


def run_failed_error(run: RunRecord) -> ContainerKitError:
    """The error a failed/cancelled run reports to the caller (for adapters that want an exception)."""
    if run.status == "cancelled":
        return CancelledError_(f"workflow run {run.id} was cancelled", details={"run_id": run.id})
    failed = [s for s in run.steps if s.status == "failed"]
    step = failed[0] if failed else None
    return wrap_unexpected(
        WorkflowError(
            f"workflow run {run.id} failed"
            + (f" at step {step.step_id}: {step.error_code}: {step.error_message}" if step else ""),
            code=(step.error_code if step and step.error_code else "WORKFLOW_ERROR"),
            details={"run_id": run.id, "failed_steps": [s.step_id for s in failed]},
        )
    )
