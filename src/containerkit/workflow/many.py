"""``containerize_many``: the containerize pipeline over many repositories, a few at a time, resumable.

Each repository is one ``containerize`` call (its own session and run). The report file is written as each one
finishes, so a run that was interrupted is continued by running it again with the same report: finished repositories
are skipped (failed ones too, unless ``retry_failed``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Literal, cast

import anyio
from pydantic import Field

from containerkit.errors import ContainerKitError, InvalidInputError
from containerkit.tools.base import Model, ToolContext, ToolParams, ToolResult
from containerkit.tools.registry import REGISTRY
from containerkit.workflow.containerize import ContainerizeResult
from containerkit.workflow.pipeline import StepName

REPORT_KIND = "containerkit.containerize-many/v1"
_GIT = ("https://", "http://", "git@", "ssh://", "git://")


class ManyParams(ToolParams):
    source: str = Field(
        description="A file listing repositories (paths, relative to the file or absolute, or git URLs; one per "
        "line, # starts a comment), or a directory whose subdirectories are checkouts."
    )
    parallel: int = Field(2, ge=1, le=16, description="Repositories containerized at the same time.")
    report: str | None = Field(
        None,
        description="The JSON report, written as each repository finishes; running again with the same report skips "
        "finished repositories (default: <list file>.containerize-many.json, or containerize-many.json in the "
        "directory).",
    )
    retry_failed: bool = Field(False, description="Run again the repositories the report lists as failed.")
    registry: str | None = Field(None, description="Registry (and namespace) to push every image to.")
    tag: str = Field("latest-build", pattern=r"^[\w][\w.-]{0,127}$", description="Image tag.")
    until: StepName | None = Field(None, description="Stop each pipeline after this step.")


class RepoOutcome(Model):
    target: str = Field(description="The repository, as the list names it.")
    outcome: Literal["succeeded", "failed"]
    session_id: str | None
    run_id: str | None
    image: str | None = Field(description="The image's first tag (or its id).")
    size_bytes: int | None
    findings: dict[str, int] = Field(description="Vulnerability findings by severity (when the scan ran).")
    duration_s: float
    failure: str | None = Field(description="Why it failed, in one line: the error code and message.")


class ManyResult(ToolResult):
    report_path: str
    total: int
    succeeded: int
    failed: int
    already_done: int = Field(description="Skipped: finished in an earlier run of the same report.")
    duration_s: float
    repos: list[RepoOutcome] = Field(description="Every repository of the list, in its order.")


def _targets(source: Path) -> list[str]:
    if source.is_dir():
        return [str(p) for p in sorted(source.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    targets = []
    for line in source.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip() if not line.strip().startswith(_GIT) else line.strip()
        if not line:
            continue
        targets.append(line if line.startswith(_GIT) else str((source.parent / line).resolve()))
    return targets


def _load_report(path: Path) -> dict[str, RepoOutcome]:
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InvalidInputError(
            f"{path} is not a containerize-many report ({e})",
            hint="Give another report path (--report); Container Kit does not overwrite a file it did not write.",
        ) from e
    if not isinstance(doc, dict) or doc.get("kind") != REPORT_KIND:
        raise InvalidInputError(
            f"{path} is not a containerize-many report (no kind: {REPORT_KIND})",
            hint="Give another report path (--report); Container Kit does not overwrite a file it did not write.",
        )
    return {r["target"]: RepoOutcome.model_validate(r) for r in doc.get("repos", [])}


def _write_report(path: Path, targets: list[str], outcomes: dict[str, RepoOutcome]) -> None:
    doc = {
        "kind": REPORT_KIND,
        "updated_at": time.time(),
        "repos": [outcomes[t].model_dump(mode="json") for t in targets if t in outcomes],
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _outcome(target: str, result: ContainerizeResult, duration_s: float) -> RepoOutcome:
    report = result.report
    image = report.image
    return RepoOutcome(
        target=target,
        outcome="succeeded",
        session_id=result.session_id,
        run_id=result.run_id,
        image=(image.tags[0] if image.tags else image.image_id) if image else None,
        size_bytes=image.size_bytes if image else None,
        findings={k: v for k, v in report.scan.counts.model_dump().items() if v} if report.scan else {},
        duration_s=round(duration_s, 2),
        failure=None,
    )


@REGISTRY.tool(
    "containerize_many",
    effects=("runs_workflow", "writes_files"),  # and its report file
    title="Containerize many repositories",
    group="workflow",
    description="Run the containerize pipeline over a list of repositories (a file of paths or git URLs, or a "
    "directory of checkouts), a few at a time, with progress; the JSON report is written as each finishes and a "
    "second run with the same report skips finished repositories.",
    params=ManyParams,
    result=ManyResult,
)
async def containerize_many(ctx: ToolContext, params: ManyParams) -> ManyResult:
    source = ctx.resolve_path(params.source)
    targets = _targets(source)
    if not targets:
        raise InvalidInputError(f"{source} names no repository", hint="List one path or git URL per line.")
    if source.is_dir():
        default = source / "containerize-many.json"
    else:
        default = source.with_name(source.name + ".containerize-many.json")
    report_path = ctx.resolve_path(params.report, must_exist=False) if params.report else default
    outcomes = _load_report(report_path)
    done = {t for t, o in outcomes.items() if o.outcome == "succeeded" or not params.retry_failed}
    remaining = [t for t in targets if t not in done]
    started = time.monotonic()
    finished = len(targets) - len(remaining)
    lock = anyio.Lock()
    limiter = anyio.CapacityLimiter(params.parallel)
    await ctx.progress.report(finished, len(targets), f"{len(remaining)} to containerize, {finished} already done")

    async def one(target: str) -> None:
        nonlocal finished
        async with limiter:
            t0 = time.monotonic()
            call = {"path": target, "tag": params.tag, "registry": params.registry, "until": params.until}
            try:
                result = cast(ContainerizeResult, await REGISTRY.call(ctx.services, "containerize", call))
                outcome = _outcome(target, result, time.monotonic() - t0)
            except ContainerKitError as e:
                outcome = RepoOutcome(
                    target=target,
                    outcome="failed",
                    session_id=str(e.details.get("session_id") or "") or None,
                    run_id=str(e.details.get("run_id") or "") or None,
                    image=None,
                    size_bytes=None,
                    findings={},
                    duration_s=round(time.monotonic() - t0, 2),
                    failure=f"{e.code}: {e.message}".splitlines()[0][:300],
                )
        async with lock:
            outcomes[target] = outcome
            await anyio.to_thread.run_sync(_write_report, report_path, targets, outcomes)
            finished += 1
            await ctx.progress.report(finished, len(targets), f"{target}: {outcome.outcome}")

    async with anyio.create_task_group() as tg:
        for target in remaining:
            tg.start_soon(one, target)
    repos = [outcomes[t] for t in targets]
    return ManyResult(
        report_path=str(report_path),
        total=len(targets),
        succeeded=sum(r.outcome == "succeeded" for r in repos),
        failed=sum(r.outcome == "failed" for r in repos),
        already_done=len(targets) - len(remaining),
        duration_s=round(time.monotonic() - started, 2),
        repos=repos,
    )
