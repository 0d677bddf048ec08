"""Step states and step messages reach the CLI's live table as typed events, not as strings parsed back (issue 17)."""

from __future__ import annotations

import anyio
from pydantic import Field
from rich.console import Console

from containerkit.cli.live import WorkflowLiveView
from containerkit.tools.base import StepEvent, ToolContext, ToolParams, ToolResult
from containerkit.tools.registry import ToolRegistry
from containerkit.workflow.runner import WorkflowRunner
from containerkit.workflow.spec import load_spec
from tests.conftest import Harness
from tests.workflow.helpers import spec


class SayParams(ToolParams):
    text: str


class SayResult(ToolResult):
    said: str


class Sink:
    """A progress sink that keeps both channels."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.events: list[StepEvent] = []

    async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        if message:
            self.messages.append(message)

    async def step_event(self, event: StepEvent) -> None:
        self.events.append(event)


def _registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("say", title="Say", description="reports a message", params=SayParams, result=SayResult)
    async def say(ctx: ToolContext, p: SayParams) -> SayResult:
        await ctx.report(1, 2, f"saying {p.text} (with: parentheses)")
        return SayResult(said=p.text)

    return reg


def test_the_runner_sends_typed_step_events_beside_its_messages(harness: Harness) -> None:
    sink = Sink()
    runner = WorkflowRunner(_registry(), harness.app.services, progress=sink)
    session = harness.app.services.store.create_session()
    data = spec(
        [
            {"id": "hello", "tool": "say", "params": {"text": "hi"}},
            {"id": "never", "tool": "say", "params": {"text": "no"}, "when": "inputs.go == true"},
        ],
        inputs={"go": False},
    )
    record = anyio.run(lambda: runner.start(load_spec(data), {}, session.id))
    assert record.status == "succeeded"
    events = [(e.step_id, e.state, e.text) for e in sink.events]
    assert ("hello", "running", "") in events and ("hello", "succeeded", "") in events
    assert ("hello", None, "saying hi (with: parentheses)") in events  # the tool's own message, verbatim
    assert any(step == "never" and state == "skipped" and text for step, state, text in events)
    assert "step hello: succeeded" in sink.messages and "[hello] saying hi (with: parentheses)" in sink.messages


def test_the_live_table_is_built_from_events() -> None:
    console = Console(record=True, width=120)
    view = WorkflowLiveView(console, "run")

    async def feed() -> None:
        with view:
            await view.step_event(StepEvent("build", "running"))
            await view.step_event(StepEvent("build", None, "step 3/7: RUN pip install"))
            await view.step_event(StepEvent("build", "failed"))
            await view.step_event(StepEvent("push", "skipped", "no registry given"))

    anyio.run(feed)
    assert view.rows["build"].state == "failed" and view.rows["build"].detail == "step 3/7: RUN pip install"
    assert view.rows["push"].state == "skipped" and view.rows["push"].detail == "no registry given"


class RegenParams(ToolParams):
    path: str | None = None
    write: bool = False
    extra_system_packages: list[str] = Field(default_factory=list)


class RegenResult(ToolResult):
    dockerfile: str


def test_a_fixer_calls_tools_from_the_runs_registry_not_the_global_one(harness: Harness) -> None:
    """A run on a registry of its own (tests, an embedding application) had its fixers call the global registry."""
    from containerkit.errors import BuildError
    from containerkit.workflow import fixers
    from containerkit.workflow.runner import FailureContext
    from containerkit.workflow.spec import StepSpec

    reg = ToolRegistry()

    @reg.tool("generate_dockerfile", title="Gen", description="a stand-in", params=RegenParams, result=RegenResult)
    async def gen(ctx: ToolContext, p: RegenParams) -> RegenResult:
        return RegenResult(dockerfile=f"FROM scratch\n# {' '.join(p.extra_system_packages)}\n")

    session = harness.app.services.store.create_session()
    failure = FailureContext(
        run_id="r",
        session_id=session.id,
        step=StepSpec(id="build", tool="build_image"),
        params={},
        error=BuildError("boom"),
        attempt=1,
        context={"inputs": {"path": "/nowhere"}},
        registry=reg,
    )
    text = anyio.run(lambda: fixers._regenerate(harness.app.services, failure, extra_system_packages=["gcc"]))
    assert text == "FROM scratch\n# gcc\n"
