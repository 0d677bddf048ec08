"""The workflow runner: DAG order, parallelism, conditions, retries, routes, timeouts, cancel, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from containerkit.errors import WorkflowError
from containerkit.store.runs import RunRecord
from containerkit.workflow.runner import FailureContext, RouteDecision, WorkflowRunner
from containerkit.workflow.spec import load_spec, validate_spec
from tests.conftest import ROOT, Harness
from tests.workflow.helpers import GATES, make_test_registry, spec


def run(harness: Harness, data: dict[str, Any], inputs: dict[str, Any] | None = None, **kw: Any) -> RunRecord:
    registry = make_test_registry()
    session = harness.app.services.store.create_session()
    runner = WorkflowRunner(registry, harness.app.services, **kw)
    return anyio.run(lambda: runner.start(load_spec(data), inputs or {}, session.id))


def steps(record: RunRecord) -> dict[str, str]:
    return {s.step_id: s.status for s in record.steps}


def test_outputs_flow_to_later_steps_with_their_types(harness: Harness) -> None:
    record = run(
        harness,
        spec(
            [
                {"id": "one", "tool": "add", "params": {"a": 2, "b": 3}},
                {
                    "id": "two",
                    "tool": "add",
                    "depends_on": ["one"],
                    "params": {"a": "${{ steps.one.outputs.total }}", "b": "${{ inputs.b }}"},
                },
            ],
            inputs={"b": 10},
        ),
    )
    assert record.status == "succeeded"
    two = next(s for s in record.steps if s.step_id == "two")
    assert two.outputs is not None and two.outputs["total"] == 15 and two.outputs["parts"] == [5, 10]


def test_independent_steps_run_in_parallel(harness: Harness) -> None:
    GATES.clear()
    # each gate waits for the other to have started: a sequential runner would deadlock into the timeout
    record = run(
        harness,
        spec(
            [
                {"id": "left", "tool": "gate", "params": {"name": "l", "others": ["r"]}, "timeout_s": 10},
                {"id": "right", "tool": "gate", "params": {"name": "r", "others": ["l"]}, "timeout_s": 10},
                {"id": "join", "tool": "add", "depends_on": ["left", "right"], "params": {"a": 1}},
            ]
        ),
    )
    assert steps(record) == {"left": "succeeded", "right": "succeeded", "join": "succeeded"}


def test_parallelism_limit_is_respected(harness: Harness) -> None:
    GATES.clear()
    record = run(
        harness,
        spec(
            [
                {"id": "left", "tool": "gate", "params": {"name": "l", "others": ["r"]}, "timeout_s": 1},
                {"id": "right", "tool": "gate", "params": {"name": "r", "others": ["l"]}, "timeout_s": 1},
            ],
            max_parallel=1,
        ),
    )
    assert "TIMEOUT" in {s.error_code for s in record.steps}


def test_false_condition_skips_the_step_and_its_dependents(harness: Harness) -> None:
    record = run(
        harness,
        spec(
            [
                {"id": "one", "tool": "add", "params": {"a": 1}},
                {
                    "id": "big",
                    "tool": "add",
                    "depends_on": ["one"],
                    "when": "steps.one.outputs.total > 5",
                    "params": {"a": 1},
                },
                {
                    "id": "small",
                    "tool": "add",
                    "depends_on": ["one"],
                    "when": "steps.one.outputs.total <= 5 and inputs.go",
                    "params": {"a": 1},
                },
                {"id": "after", "tool": "add", "depends_on": ["big"], "params": {"a": 1}},
            ],
            inputs={"go": True},
        ),
    )
    assert steps(record) == {"one": "succeeded", "big": "skipped", "small": "succeeded", "after": "skipped"}
    assert record.status == "succeeded"


def test_a_chain_of_skipped_steps_ends_the_run_when_nothing_else_runs(harness: Harness) -> None:
    # deploy -> verify in the containerize pipeline: the last running step is done, then a skip makes the next step
    # ready
    registry = make_test_registry()
    session = harness.app.services.store.create_session()
    runner = WorkflowRunner(registry, harness.app.services)
    data = spec(
        [
            {"id": "one", "tool": "add", "params": {"a": 1}},
            {"id": "deploy", "tool": "add", "depends_on": ["one"], "when": "inputs.deploy", "params": {"a": 1}},
            {"id": "verify", "tool": "add", "depends_on": ["deploy"], "when": "inputs.deploy", "params": {"a": 1}},
            {"id": "report", "tool": "add", "depends_on": ["verify"], "params": {"a": 1}},
        ],
        inputs={"deploy": False},
    )

    async def main() -> RunRecord:
        with anyio.fail_after(20):
            return await runner.start(load_spec(data), {}, session.id)

    record = anyio.run(main)
    assert steps(record) == {"one": "succeeded", "deploy": "skipped", "verify": "skipped", "report": "skipped"}
    assert record.status == "succeeded"


def test_retries_with_backoff_until_success(harness: Harness, tmp_path: Path) -> None:
    counter = tmp_path / "n"
    record = run(
        harness,
        spec(
            [
                {
                    "id": "f",
                    "tool": "flaky",
                    "params": {"counter": str(counter), "fail_times": 2},
                    "retries": 2,
                    "retry_backoff_s": 0.01,
                },
            ]
        ),
    )
    assert record.status == "succeeded" and record.steps[0].attempts == 3
    events = harness.app.services.store.runs.events(record.id)
    assert [e.detail["delay_s"] for e in events if e.kind == "retry"] == [0.01, 0.02]


def test_permanent_errors_are_not_retried(harness: Harness, tmp_path: Path) -> None:
    counter = tmp_path / "n"
    record = run(
        harness,
        spec(
            [
                {
                    "id": "f",
                    "tool": "flaky",
                    "params": {"counter": str(counter), "fail_times": 5, "code": "INVALID_INPUT"},
                    "retries": 3,
                },
            ]
        ),
    )
    assert record.status == "failed" and counter.read_text() == "1"


def test_failure_route_runs_the_handler_and_recovers_the_run(harness: Harness, tmp_path: Path) -> None:
    record = run(
        harness,
        spec(
            [
                {
                    "id": "f",
                    "tool": "flaky",
                    "params": {"counter": str(tmp_path / "n"), "fail_times": 9},
                    "on_failure": ["handle"],
                },
                {"id": "handle", "tool": "add", "route_only": True, "params": {"a": 1}},
                {"id": "unused", "tool": "add", "route_only": True, "params": {"a": 1}},
                {"id": "other", "tool": "add", "params": {"a": 1}, "on_failure": ["unused"]},
                {"id": "after", "tool": "add", "depends_on": ["f"], "params": {"a": 1}},
            ]
        ),
    )
    assert steps(record) == {
        "f": "failed",
        "handle": "succeeded",
        "unused": "skipped",
        "other": "succeeded",
        "after": "skipped",
    }
    assert record.status == "succeeded"
    routes = [e for e in harness.app.services.store.runs.events(record.id) if e.kind == "route"]
    assert routes[0].detail == {"from": "f", "to": "handle", "code": "NETWORK"}


def test_continue_on_error_lets_dependents_run(harness: Harness, tmp_path: Path) -> None:
    record = run(
        harness,
        spec(
            [
                {
                    "id": "f",
                    "tool": "flaky",
                    "params": {"counter": str(tmp_path / "n"), "fail_times": 9},
                    "continue_on_error": True,
                },
                {
                    "id": "after",
                    "tool": "add",
                    "depends_on": ["f"],
                    "when": "steps.f.status == 'failed'",
                    "params": {"a": 1},
                },
            ]
        ),
    )
    assert steps(record) == {"f": "failed", "after": "succeeded"} and record.status == "succeeded"


def test_step_timeout_fails_the_step_with_timeout(harness: Harness) -> None:
    record = run(harness, spec([{"id": "s", "tool": "sleep", "params": {"seconds": 5}, "timeout_s": 0.2}]))
    assert record.status == "failed" and record.steps[0].error_code == "TIMEOUT"
    assert record.error_code == "TIMEOUT"


def test_router_fixes_a_failure_and_the_step_is_retried_with_new_params(harness: Harness, tmp_path: Path) -> None:
    seen: list[str] = []

    async def router(failure: FailureContext) -> RouteDecision | None:
        seen.append(failure.error.code)
        return RouteDecision("retry", "use a fresh counter", params={"fail_times": 0})

    record = run(
        harness,
        spec([{"id": "f", "tool": "flaky", "params": {"counter": str(tmp_path / "n"), "fail_times": 1}}]),
        router=router,
    )
    assert record.status == "succeeded" and seen == ["NETWORK"]
    route = next(e for e in harness.app.services.store.runs.events(record.id) if e.kind == "route")
    assert route.detail["action"] == "retry" and route.detail["params"] == {"fail_times": 0}


def test_cancellation_by_the_caller_marks_running_and_pending_steps_cancelled(harness: Harness) -> None:
    registry = make_test_registry()
    session = harness.app.services.store.create_session()
    runner = WorkflowRunner(registry, harness.app.services)
    data = spec(
        [
            {"id": "s", "tool": "sleep", "params": {"seconds": 30}},
            {"id": "t", "tool": "add", "depends_on": ["s"], "params": {"a": 1}},
        ]
    )

    async def main() -> None:
        with anyio.move_on_after(0.5):
            await runner.start(load_spec(data), {}, session.id)

    anyio.run(main)
    record = harness.app.services.store.runs.list_runs(session.id)[0]
    assert record.status == "cancelled" and steps(record) == {"s": "cancelled", "t": "cancelled"}


def test_cancel_request_from_another_caller_stops_the_run(harness: Harness) -> None:
    registry = make_test_registry()
    store = harness.app.services.store
    session = store.create_session()
    runner = WorkflowRunner(registry, harness.app.services)
    data = spec(
        [
            {"id": "s", "tool": "sleep", "params": {"seconds": 30}},
            {"id": "t", "tool": "add", "depends_on": ["s"], "params": {"a": 1}},
        ]
    )
    result: list[RunRecord] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:

            async def go() -> None:
                result.append(await runner.start(load_spec(data), {}, session.id))

            tg.start_soon(go)
            with anyio.fail_after(10):
                while (
                    not store.runs.list_runs(session.id)
                    or store.runs.list_runs(session.id)[0].steps[0].status != "running"
                ):
                    await anyio.sleep(0.02)
            await harness.acall("cancel_workflow", run_id=store.runs.list_runs(session.id)[0].id)

    started = time.monotonic()
    anyio.run(main)
    assert time.monotonic() - started < 10
    assert result[0].status == "cancelled" and steps(result[0]) == {"s": "cancelled", "t": "cancelled"}


def test_resume_after_failure_keeps_completed_steps(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    counter = tmp_path / "n"
    registry = make_test_registry()
    session = harness.app.services.store.create_session()
    runner = WorkflowRunner(registry, harness.app.services)
    data = spec(
        [
            {"id": "first", "tool": "add", "params": {"a": 1, "log": str(log)}},
            {"id": "f", "tool": "flaky", "depends_on": ["first"], "params": {"counter": str(counter), "fail_times": 1}},
            {
                "id": "last",
                "tool": "add",
                "depends_on": ["f"],
                "params": {"a": "${{ steps.first.outputs.total }}", "log": str(log)},
            },
        ]
    )
    failed = anyio.run(lambda: runner.start(load_spec(data), {}, session.id))
    assert failed.status == "failed" and steps(failed) == {"first": "succeeded", "f": "failed", "last": "skipped"}
    resumed = anyio.run(lambda: runner.resume(failed.id))
    assert resumed.status == "succeeded"
    assert log.read_text().splitlines() == [
        "add 1 0",
        "add 1 0",
    ]  # first ran once; last ran once, reading first's output
    assert any(e.kind == "resume" for e in harness.app.services.store.runs.events(failed.id))


CRASH_SCRIPT = textwrap.dedent("""
    import sys, anyio
    from containerkit.app import build_app
    from containerkit.workflow.runner import WorkflowRunner
    from containerkit.workflow.spec import load_spec
    from tests.workflow.helpers import make_test_registry
    import json
    app = build_app()
    data = json.loads(sys.argv[1])
    session = app.services.store.create_session()
    print(session.id, flush=True)
    anyio.run(lambda: WorkflowRunner(make_test_registry(), app.services).start(load_spec(data), {}, session.id))
""")


def test_kill_9_mid_run_then_resume_continues_without_redoing_completed_steps(harness: Harness, tmp_path: Path) -> None:
    import json

    log, marker = tmp_path / "calls.log", tmp_path / "started"
    data = spec(
        [
            {"id": "first", "tool": "add", "params": {"a": 1, "log": str(log)}},
            {
                "id": "slow",
                "tool": "sleep",
                "depends_on": ["first"],
                "params": {"seconds": 60, "log": str(log), "marker": str(marker)},
            },
            {"id": "last", "tool": "add", "depends_on": ["slow"], "params": {"a": 2, "log": str(log)}},
        ]
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_SCRIPT, json.dumps(data)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    session_id = proc.stdout.readline().strip()
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the slow step never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    store = harness.app.services.store
    store.reclaim()  # what every start of the CLI or server does on its first use of the store
    crashed = store.runs.list_runs(session_id)[0]
    # nothing is left "running" by the dead process: the run is failed (resumable) and its jobs say why
    assert crashed.status == "failed" and crashed.error_code == "INTERRUPTED"
    assert steps(crashed) == {"first": "succeeded", "slow": "failed", "last": "pending"}
    jobs = {j.tool: j for j in store.list_jobs(session_id)}
    assert jobs["sleep"].status == "failed" and jobs["sleep"].error_code == "INTERRUPTED"
    assert f"pid {proc.pid}" in (jobs["sleep"].error_message or "")
    assert store.counts().running_jobs == 0
    # resume re-runs the interrupted step as specified; a registry whose sleep returns at once keeps the test short
    registry = make_test_registry()
    original = registry.get("sleep")
    from dataclasses import replace

    async def quick(ctx: Any, params: Any) -> Any:
        return await original.fn(ctx, params.model_copy(update={"seconds": 0.01}))

    registry._tools["sleep"] = replace(original, fn=quick)
    resumed = anyio.run(lambda: WorkflowRunner(registry, harness.app.services).resume(crashed.id))
    assert resumed.status == "succeeded"
    assert log.read_text().splitlines() == ["add 1 0", "sleep 60.0", "sleep 0.01", "add 2 0"]


def test_resume_refuses_a_run_still_executing_in_a_live_process(harness: Harness) -> None:
    from containerkit.errors import ConflictError

    store = harness.app.services.store
    session = store.create_session()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        run_id = store.runs.create(
            session.id, "x", spec([{"id": "a", "tool": "add", "params": {"a": 1}}]), {}, ["a"], sleeper.pid
        )
        with pytest.raises(ConflictError):
            anyio.run(lambda: WorkflowRunner(make_test_registry(), harness.app.services).resume(run_id))
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize(
    ("steps_data", "expected"),
    [
        ([{"id": "a", "tool": "nope"}], "unknown tool 'nope'"),
        ([{"id": "a", "tool": "add", "params": {"a": "x"}}], "parameter 'a'"),
        ([{"id": "a", "tool": "add", "params": {"b": 1}}], "missing required parameter 'a'"),
        ([{"id": "a", "tool": "add", "params": {"a": 1, "zz": 1}}], "unknown parameter 'zz'"),
        ([{"id": "a", "tool": "add", "params": {"a": "${{ steps.ghost.outputs.total }}"}}], "unknown step 'ghost'"),
        (
            [
                {"id": "a", "tool": "add", "params": {"a": 1}, "depends_on": ["b"]},
                {"id": "b", "tool": "add", "params": {"a": 1}, "depends_on": ["a"]},
            ],
            "dependency cycle",
        ),
        ([{"id": "a", "tool": "add", "params": {"a": 1}, "route_only": True}], "unreachable"),
        ([{"id": "a", "tool": "add", "params": {"a": 1}, "when": "false"}], "unreachable"),
        (
            [
                {"id": "a", "tool": "add", "params": {"a": 1}},
                {"id": "b", "tool": "add", "params": {"a": "${{ steps.a.outputs.total }}"}},
            ],
            "does not depend on it",
        ),
        ([{"id": "a", "tool": "add", "params": {"a": "${{ inputs.missing }}"}}], "input 'missing'"),
        ([{"id": "a", "tool": "add", "params": {"a": "${{ __import__('os') }}"}}], "not allowed"),
        ([{"id": "a", "tool": "add", "params": {"a": 1}, "depends_on": ["zzz"]}], "unknown step 'zzz'"),
    ],
)
def test_validation_names_each_problem(steps_data: list[dict[str, Any]], expected: str) -> None:
    problems = validate_spec(load_spec(spec(steps_data)), make_test_registry())
    assert any(expected in p for p in problems), problems


def test_invalid_spec_is_refused_before_anything_runs(harness: Harness) -> None:
    with pytest.raises(WorkflowError) as info:
        run(harness, spec([{"id": "a", "tool": "nope"}]))
    assert "unknown tool" in info.value.message
    assert harness.app.services.store.runs.list_runs() == []


def test_bad_yaml_names_the_line() -> None:
    from containerkit.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="line 2"):
        load_spec("name: x\n\tsteps: []\n")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${{ inputs.registry }}/app:${{ inputs.tag }}", "127.0.0.1:5001/demo/app:7"),
        ("${{ inputs.tag }}", 7),
        ("app-${{ inputs.tag }}-${{ inputs.tag }}", "app-7-7"),
    ],
)
def test_templates_render_each_reference_in_a_string(template: str, expected: Any) -> None:
    from containerkit.workflow import expr

    assert expr.render(template, {"inputs": {"registry": "127.0.0.1:5001/demo", "tag": 7}, "steps": {}}) == expected


def test_resume_of_a_run_removed_with_its_session_says_it_was_removed_and_why(tmp_path: Path) -> None:
    """`workflow resume RUN` answered `no workflow run` for a run deleted with its session, without saying so."""
    import json

    from tests.core.test_cli import ck

    flow = tmp_path / "flow.yaml"
    flow.write_text(
        f"name: doomed\nsteps:\n  - id: look\n    tool: analyze_repository\n    params: {{path: "
        f"{tmp_path / 'missing'}}}\n"
    )
    env = {"CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)])}
    failed = ck(["workflow", "run", str(flow), "--json"], tmp_path, env)
    assert failed.returncode != 0
    details = json.loads(failed.stdout)["error"]["details"]
    run_id, session_id = details["run_id"], details["session_id"]
    assert ck(["sessions", "delete", session_id], tmp_path, env).returncode == 0
    resumed = ck(["workflow", "resume", run_id, "--json"], tmp_path, env)
    error = json.loads(resumed.stdout)["error"]
    assert (
        error["code"] == "NOT_FOUND"
        and f"workflow run {run_id} (doomed, failed) was removed with its session" in error["message"]
    )
    assert "(deleted)" in error["message"] and error["details"]["removed_reason"].endswith("(deleted)")


@pytest.mark.parametrize("apply_fixes", [True, False])
def test_a_run_records_apply_fixes_and_a_server_taking_it_over_keeps_it(harness: Harness, apply_fixes: bool) -> None:
    """A server that takes over a lapsed run applies fixes as the run's starter asked (before, it never did)."""
    from containerkit.workflow.spec import WorkflowSpec
    from containerkit.workflow.tools import takeover_runner

    session = harness.app.services.store.create_session()
    runner = WorkflowRunner(make_test_registry(), harness.app.services, apply_fixes=apply_fixes)
    done = anyio.run(
        lambda: runner.start(
            WorkflowSpec.model_validate(spec([{"id": "a", "tool": "add", "params": {"a": 1}}])), {}, session.id
        )
    )
    assert done.status == "succeeded" and done.apply_fixes is apply_fixes
    assert harness.app.services.store.runs.get(done.id).apply_fixes is apply_fixes
    assert takeover_runner(harness.app.services, done.id).apply_fixes is apply_fixes
