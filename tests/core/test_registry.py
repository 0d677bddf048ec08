"""The tool registry: tracking, errors, progress, cancellation, redaction."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from pydantic import Field

from containerkit.errors import ContainerKitError, InvalidInputError, PathNotAllowedError, SessionExpiredError
from containerkit.tools import ToolContext, ToolParams, ToolRegistry, ToolResult
from tests.conftest import Harness


class EchoParams(ToolParams):
    text: str = Field(description="What to echo.")
    fail_with: str | None = None
    password: str | None = None


class EchoResult(ToolResult):
    text: str
    progress_seen: bool


def make_registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("echo", title="Echo", description="echo", params=EchoParams, result=EchoResult, store_result=True)
    async def echo(ctx: ToolContext, params: EchoParams) -> EchoResult:
        await ctx.report(1, 2, "half way")
        if params.fail_with == "typed":
            raise InvalidInputError("bad text", hint="use good text")
        if params.fail_with == "crash":
            raise RuntimeError("boom")
        if params.fail_with == "slow":
            await anyio.sleep(30)
        return EchoResult(text=params.text, progress_seen=True)

    return reg


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[float, float | None, str | None]] = []

    async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        self.events.append((progress, total, message))


def test_successful_call_is_tracked_and_result_stored_in_session(harness: Harness) -> None:
    reg, rec = make_registry(), Recorder()
    result = anyio.run(lambda: reg.call(harness.app.services, "echo", {"text": "hi"}, progress=rec))
    assert isinstance(result, EchoResult) and result.text == "hi"
    store = harness.app.services.store
    job = store.get_job(result.job_id)
    assert job.status == "succeeded" and job.tool == "echo" and job.duration_ms is not None
    assert store.get_session(result.session_id).state["results.echo"]["text"] == "hi"
    assert rec.events == [(1, 2, "half way")]


def test_tool_works_without_a_progress_reporter(harness: Harness) -> None:
    result = anyio.run(lambda: make_registry().call(harness.app.services, "echo", {"text": "x"}))
    assert result.progress_seen  # type: ignore[attr-defined]


def test_typed_error_is_recorded_with_code_and_reraised(harness: Harness) -> None:
    reg = make_registry()
    with pytest.raises(InvalidInputError) as info:
        anyio.run(lambda: reg.call(harness.app.services, "echo", {"text": "x", "fail_with": "typed"}))
    job = harness.app.services.store.get_job(str(info.value.details["job_id"]))
    assert job.status == "failed" and job.error_code == "INVALID_INPUT"
    errors = harness.app.services.store.list_errors(job.session_id)
    assert errors[0].code == "INVALID_INPUT" and errors[0].hint == "use good text"


def test_unexpected_exception_becomes_internal_error_without_traceback(harness: Harness) -> None:
    reg = make_registry()
    with pytest.raises(ContainerKitError) as info:
        anyio.run(lambda: reg.call(harness.app.services, "echo", {"text": "x", "fail_with": "crash"}))
    assert info.value.code == "INTERNAL" and "boom" in info.value.message
    assert "Traceback" not in str(info.value.to_dict())


def test_invalid_params_name_the_field(harness: Harness) -> None:
    with pytest.raises(InvalidInputError, match="text"):
        anyio.run(lambda: make_registry().call(harness.app.services, "echo", {"nope": 1}))


def test_cancellation_marks_the_job_cancelled(harness: Harness) -> None:
    reg = make_registry()
    store = harness.app.services.store
    session = store.create_session()

    async def main() -> None:
        with anyio.move_on_after(0.3):
            await reg.call(harness.app.services, "echo", {"text": "x", "fail_with": "slow", "session_id": session.id})

    anyio.run(main)
    jobs = store.list_jobs(session.id)
    assert jobs[0].status == "cancelled" and jobs[0].error_code == "CANCELLED"


def test_secret_params_are_redacted_in_the_job_row(harness: Harness) -> None:
    result = anyio.run(
        lambda: make_registry().call(harness.app.services, "echo", {"text": "x", "password": "pw-canary-1"})
    )
    job = harness.app.services.store.get_job(result.job_id)
    assert job.params["password"] == "***"


def test_expired_session_id_gives_session_expired(harness: Harness) -> None:
    store = harness.app.services.store
    session = store.create_session()
    store.delete_session(session.id)
    with pytest.raises(SessionExpiredError):
        harness.call("get_session", session_id=session.id)


def test_session_tools_round_trip(harness: Harness) -> None:
    sid = harness.app.services.store.create_session().id
    assert harness.call("add_session_label", session_id=sid, label="team:web").session.labels == ["team:web"]
    assert [s.id for s in harness.call("list_sessions", label="team:web").sessions] == [sid]
    shown = harness.call("get_session", session_id=sid)
    assert shown.session.id == sid and any(j.tool == "add_session_label" for j in shown.jobs)
    assert harness.call("get_job_status", job_id=shown.job_id).job.tool == "get_session"
    assert harness.call("remove_session_label", session_id=sid, label="team:web").session.labels == []
    status = harness.call("server_status", check_engine=False)
    assert status.counts.sessions == 1 and status.tools >= 7
    harness.call("delete_session", session_id=sid)
    assert harness.call("list_sessions").sessions == []


def test_paths_outside_allowed_roots_are_refused(harness: Harness, tmp_path: Path) -> None:
    from containerkit.tools.base import ToolContext

    session = harness.app.services.store.create_session()
    ctx = ToolContext(services=harness.app.services, session=session, job_id="j", tool="t")
    assert ctx.resolve_path(tmp_path) == tmp_path.resolve()
    with pytest.raises(PathNotAllowedError):
        ctx.resolve_path("/etc")
    link = tmp_path / "escape"
    link.symlink_to("/etc")
    with pytest.raises(PathNotAllowedError):
        ctx.resolve_path(link)
    with pytest.raises(PathNotAllowedError):
        ctx.resolve_path("-rf")


class PeekParams(ToolParams):
    wait_s: float = 0.0


class PeekResult(ToolResult):
    own_status: str | None = Field(description="This call's job as the store lists it while the call runs.")


def peeking_registry() -> ToolRegistry:
    reg = ToolRegistry()

    async def peek(ctx: ToolContext, params: PeekParams) -> PeekResult:
        await anyio.sleep(params.wait_s)
        own = [j.status for j in ctx.store.list_jobs(ctx.session.id) if j.id == ctx.job_id]
        return PeekResult(own_status=own[0] if own else None)

    reg.tool("peek", effects=(), title="Peek", description="read-only", params=PeekParams, result=PeekResult)(peek)
    reg.tool(
        "poke", effects=("writes_files",), title="Poke", description="writes", params=PeekParams, result=PeekResult
    )(peek)
    return reg


def test_a_read_only_call_is_written_when_it_ends_unless_it_runs_long(harness: Harness) -> None:
    """One commit per short read-only call; a long one shows as running after WRITE_RUNNING_AFTER_S, and a call that
    changes something is running from its start."""
    reg, store = peeking_registry(), harness.app.services.store
    sid = store.create_session().id

    def call(tool: str, wait_s: float) -> PeekResult:
        result = anyio.run(lambda: reg.call(harness.app.services, tool, {"session_id": sid, "wait_s": wait_s}))
        assert isinstance(result, PeekResult) and store.get_job(result.job_id).status == "succeeded"
        return result

    assert call("peek", 0).own_status is None
    assert call("peek", 0.3).own_status == "running"
    assert call("poke", 0).own_status == "running"
    assert [j.tool for j in store.list_jobs(sid)] == ["poke", "peek", "peek"]
