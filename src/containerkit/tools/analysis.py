"""`analyze_repository`: find every service of a repository and describe how to run it."""

from __future__ import annotations

from pathlib import Path

import anyio
from pydantic import Field

from containerkit.analysis import RepoAnalysis, analyze
from containerkit.analysis.git import clone, is_git_url
from containerkit.tools.base import ToolContext, ToolParams, ToolResult
from containerkit.tools.registry import REGISTRY


class AnalyzeParams(ToolParams):
    path: str = Field(
        description="Local repository path (inside the allowed roots) or a git URL (https://, ssh://, git@, file://)."
    )
    branch: str | None = Field(None, description="Branch or tag to clone (git URLs only).")


class AnalyzeResult(ToolResult):
    analysis: RepoAnalysis
    source: str = Field(
        description="The local directory that was analyzed (a clone in the session workspace for git URLs)."
    )


async def resolve_source(ctx: ToolContext, path: str, branch: str | None = None) -> Path:
    """A local directory for ``path``: checked against the allowed roots, or cloned into the workspace."""
    if is_git_url(path):
        return await clone(path, ctx.workspace / "repo", branch)
    return ctx.resolve_path(path)


@REGISTRY.tool(
    "analyze_repository",
    effects=("network",),
    title="Analyze a repository",
    group="analysis",
    idempotent=True,
    store_result=True,
    description="Find every service in a repository (monorepos too) and report language, version, framework, package "
    "manager, "
    "port, start/build commands, health path, env vars, backing services — each with the file and line it came from.",
    params=AnalyzeParams,
    result=AnalyzeResult,
)
async def analyze_repository(ctx: ToolContext, params: AnalyzeParams) -> AnalyzeResult:
    source = await resolve_source(ctx, params.path, params.branch)
    await ctx.report(0, 1, f"analyzing {source}")
    analysis = await anyio.to_thread.run_sync(analyze, source)
    ctx.put_state("analysis", analysis)
    ctx.put_state("repo_path", str(source))
    await ctx.report(1, 1, f"found {len(analysis.services)} service(s)")
    return AnalyzeResult(analysis=analysis, source=str(source))
