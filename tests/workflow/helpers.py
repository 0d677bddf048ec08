"""A small registry of controllable tools for testing the workflow runner itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from pydantic import Field

from containerkit.errors import BuildError, InvalidInputError
from containerkit.tools import ToolContext, ToolParams, ToolRegistry, ToolResult


class AddParams(ToolParams):
    a: int
    b: int = 0
    log: str | None = Field(None, description="Append the call to this file (to count calls across processes).")


class AddResult(ToolResult):
    total: int
    parts: list[int]


class SleepParams(ToolParams):
    seconds: float
    log: str | None = None
    marker: str | None = Field(None, description="File to create when the step starts.")


class SleepResult(ToolResult):
    slept: float


class FlakyParams(ToolParams):
    counter: str = Field(description="File holding the number of calls so far.")
    fail_times: int
    code: str = "NETWORK"


class FlakyResult(ToolResult):
    calls: int


class GateParams(ToolParams):
    name: str
    others: list[str] = Field(default_factory=list)


class GateResult(ToolResult):
    name: str


GATES: dict[str, anyio.Event] = {}


def _log(path: str | None, text: str) -> None:
    if path:
        with Path(path).open("a") as f:
            f.write(text + "\n")


def make_test_registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("add", title="Add", description="add two numbers", params=AddParams, result=AddResult, idempotent=True)
    async def add(ctx: ToolContext, p: AddParams) -> AddResult:
        _log(p.log, f"add {p.a} {p.b}")
        return AddResult(total=p.a + p.b, parts=[p.a, p.b])

    @reg.tool("sleep", title="Sleep", description="sleep", params=SleepParams, result=SleepResult)
    async def sleep(ctx: ToolContext, p: SleepParams) -> SleepResult:
        _log(p.log, f"sleep {p.seconds}")
        if p.marker:
            Path(p.marker).write_text("started")
        await anyio.sleep(p.seconds)
        return SleepResult(slept=p.seconds)

    @reg.tool("flaky", title="Flaky", description="fails N times", params=FlakyParams, result=FlakyResult)
    async def flaky(ctx: ToolContext, p: FlakyParams) -> FlakyResult:
        path = Path(p.counter)
        calls = int(path.read_text()) + 1 if path.exists() else 1
        path.write_text(str(calls))
        if calls <= p.fail_times:
            if p.code == "INVALID_INPUT":
                raise InvalidInputError(f"call {calls} rejected")
            raise BuildError(f"call {calls} failed", code=p.code, retryable=True)
        return FlakyResult(calls=calls)

    @reg.tool(
        "gate", title="Gate", description="waits until the other gates started", params=GateParams, result=GateResult
    )
    async def gate(ctx: ToolContext, p: GateParams) -> GateResult:
        GATES.setdefault(p.name, anyio.Event()).set()
        for other in p.others:
            await GATES.setdefault(other, anyio.Event()).wait()
        return GateResult(name=p.name)

    return reg


def spec(steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": "test", "steps": steps, **extra}
