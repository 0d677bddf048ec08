"""`containerize`: the built-in containerize pipeline as one tool call (``execute_workflow`` is its old name)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field

from containerkit.tools.base import ToolContext, ToolParams
from containerkit.tools.registry import REGISTRY
from containerkit.workflow.pipeline import STEPS, StepName, containerize_spec
from containerkit.workflow.report import ContainerizeReport, build_report, render_markdown
from containerkit.workflow.tools import APPLY_FIXES_DESCRIPTION, RunResult, StepSummary, _runner, summarize


class ContainerizeParams(ToolParams):
    path: str = Field(description="Repository path (inside the allowed roots) or git URL.")
    service: str | None = Field(None, description="Service path in a monorepo.")
    registry: str | None = Field(
        None, description="Registry (and namespace) to push to, e.g. 127.0.0.1:5001/team. Omit to skip push."
    )
    tag: str = Field("latest-build", pattern=r"^[\w][\w.-]{0,127}$", description="Image tag.")
    name: str | None = Field(
        None, pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$", description="Image name (default: the repository's name)."
    )
    deploy: bool = Field(False, description="Deploy to Kubernetes and verify the rollout (needs a registry).")
    context: str | None = Field(None, description="kubeconfig context for deploy.")
    allow_production: bool = Field(
        False, description="Deploy even to a context or namespace that looks like production."
    )
    namespace: str = Field("default", description="Kubernetes namespace.")
    fail_on: Literal["none", "low", "medium", "high", "critical"] = Field("none", description="Scan policy gate.")
    fail_on_secrets: Literal["none", "shipped", "any"] = Field(
        "none",
        description="Secret policy gate on the build context: shipped fails on a secret the build would receive, any "
        "on "
        "every secret; none reports them (and a .dockerignore that lets .env files in) as warnings.",
    )
    apply_fixes: bool = Field(False, description=APPLY_FIXES_DESCRIPTION)
    until: StepName | None = Field(None, description="Stop after this step.")


class ContainerizeResult(RunResult):
    report: ContainerizeReport = Field(
        description="What was detected and why, files written, image, findings, manifests, deploy status."
    )
    report_markdown: str
    skipped: list[StepSummary] = Field(description="Steps that did not apply, each with the reason.")


def _image_name(path: str) -> str:
    base = Path(path.rstrip("/")).name or "app"
    base = re.sub(r"\.git$", "", base).lower()
    return re.sub(r"[^a-z0-9]+", "-", base).strip("-") or "app"


@REGISTRY.tool(
    "containerize",
    effects=("runs_workflow",),
    title="Containerize a repository",
    group="workflow",
    store_result=True,
    deprecated_aliases=("execute_workflow",),
    description="The containerize pipeline: "
    + " → ".join(STEPS)
    + ". Push runs when a registry is given, deploy and verify "
    "with deploy=true; steps that do not apply are skipped with the reason. Failures are routed to fixes (wrong port, "
    "missing system package, …) and retried; the run is durable (resume_workflow).",
    params=ContainerizeParams,
    result=ContainerizeResult,
)
async def containerize(ctx: ToolContext, params: ContainerizeParams) -> ContainerizeResult:
    name = params.name or _image_name(params.path)
    spec = containerize_spec(
        path=params.path,
        service=params.service,
        registry=params.registry,
        tag=params.tag,
        deploy=params.deploy,
        context=params.context,
        namespace=params.namespace,
        fail_on=params.fail_on,
        until=params.until,
        name=name,
        fail_on_secrets=params.fail_on_secrets,
        allow_production=params.allow_production,
    )
    run = await _runner(ctx, apply_fixes=params.apply_fixes).start(spec, {}, ctx.session.id)
    report = build_report(run)
    markdown = render_markdown(report)
    ctx.artifact("report", "containerize-report.md", markdown, "text/markdown")
    ctx.artifact("report", "containerize-report.json", report.model_dump_json(indent=2), "application/json")
    summary = summarize(ctx, run)
    if run.status != "succeeded":
        from containerkit.workflow.tools import _raise_unless_succeeded

        _raise_unless_succeeded(ctx, run)
    return ContainerizeResult(
        **summary.model_dump(exclude={"session_id", "job_id"}),
        report=report,
        report_markdown=markdown,
        skipped=[s for s in summary.steps if s.status == "skipped"],
    )
