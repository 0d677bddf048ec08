"""A registry of small tools exercising progress, sampling and roots through the MCP adapter."""

from __future__ import annotations

import logging

import anyio
from pydantic import Field

from containerkit.app import App
from containerkit.errors import ToolMissingError
from containerkit.tools import ToolContext, ToolParams, ToolRegistry, ToolResult


class StepsParams(ToolParams):
    steps: int = Field(3, ge=1, le=100)
    sleep: float = 0.0


class StepsResult(ToolResult):
    done: int


class AskParams(ToolParams):
    question: str


class AskResult(ToolResult):
    answer: str


class PathParams(ToolParams):
    path: str


class PathResult(ToolResult):
    resolved: str


def make_test_app(app: App) -> App:
    reg = ToolRegistry()

    @reg.tool("count", title="Count", description="reports progress", params=StepsParams, result=StepsResult)
    async def count(ctx: ToolContext, p: StepsParams) -> StepsResult:
        for i in range(p.steps):
            await ctx.report(i + 1, p.steps, f"step {i + 1}")
            await anyio.sleep(p.sleep)
        return StepsResult(done=p.steps)

    @reg.tool("ask", title="Ask", description="uses sampling", params=AskParams, result=AskResult)
    async def ask(ctx: ToolContext, p: AskParams) -> AskResult:
        if ctx.sampler is None:
            raise ToolMissingError("the client does not support sampling")
        return AskResult(answer=await ctx.sampler.complete(p.question, system="be brief"))

    @reg.tool(
        "chatty", title="Chatty", description="logs a warning and reports progress", params=AskParams, result=AskResult
    )
    async def chatty(ctx: ToolContext, p: AskParams) -> AskResult:
        logging.getLogger("containerkit.tests").warning("about to answer %s", p.question)
        await ctx.report(1, 1, f"answered {p.question}")
        return AskResult(answer=p.question)

    @reg.tool(
        "where", title="Where", description="resolves a path inside allowed roots", params=PathParams, result=PathResult
    )
    async def where(ctx: ToolContext, p: PathParams) -> PathResult:
        return PathResult(resolved=str(ctx.resolve_path(p.path)))

    return App(settings=app.settings, services=app.services, registry=reg)
