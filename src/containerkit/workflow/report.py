"""The containerize report: what was detected and why, files written, image, findings, manifests, deploy status.

A typed model built from the steps' typed results (each step's stored outputs are read back with its tool's result
model), so the pipeline, the CLI and an MCP client read the same fields, and a renamed field fails mypy instead of
printing an empty line (issue 17).
"""

from __future__ import annotations

import logging
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from containerkit.analysis.models import ServiceAnalysis
from containerkit.engine.models import CacheInfo, StrategyChoice
from containerkit.findings import Finding
from containerkit.scan.models import Remediation, SeverityCounts
from containerkit.store.runs import RunRecord
from containerkit.tools.analysis import AnalyzeResult
from containerkit.tools.base import read_as
from containerkit.tools.dockerfile import GenerateResult
from containerkit.tools.engine import BuildImageResult
from containerkit.tools.images import TransferResult
from containerkit.tools.k8s_deploy import DeployResult, VerifyResult
from containerkit.tools.k8s_manifests import GenerateManifestsResult
from containerkit.tools.sandbox import SmokeResult
from containerkit.tools.scan import ScanImageResult, ScanSecretsResult

log = logging.getLogger(__name__)
STATE_ICON = {"succeeded": "✔", "failed": "✘", "skipped": "–", "cancelled": "⊘", "pending": "…", "running": "…"}
T = TypeVar("T", bound=BaseModel)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepLine(_Section):
    id: str
    status: str
    attempts: int
    error_code: str | None
    reason: str | None
    duration_s: float | None


class DetectedService(_Section):
    path: str
    language: str
    language_version: str | None
    framework: str | None
    port: int | None
    health_path: str | None
    why: dict[str, str] = Field(description="Per detected field: the file and line that says so, and what it says.")


class ImageSummary(_Section):
    image_id: str
    tags: list[str]
    size_bytes: int
    layers: int
    duration_s: float
    cache: CacheInfo
    strategy: StrategyChoice


class SmokeSummary(_Section):
    passed: bool
    port: int | None
    status_code: int | None
    listening_ports: list[int]
    duration_s: float


class SecretsSummary(_Section):
    summary: str
    found: int
    warnings: list[str]


class ScanSummary(_Section):
    summary: str
    counts: SeverityCounts
    fixable: int
    total: int
    remediation: list[Remediation]


class PushSummary(_Section):
    reference: str
    digest: str | None
    verified: bool
    attempts: int


class ManifestsSummary(_Section):
    out_dir: str
    files: list[str]
    format: str


class DeploySummary(_Section):
    context: str
    namespace: str
    server_version: str
    applied: int = Field(description="Objects applied.")
    rollouts: list[str] = Field(description="Per Deployment: ready replicas and revision.")
    probe: str | None = Field(None, description="The HTTP probe through the API server and its status.")


class ContainerizeReport(_Section):
    run_id: str
    status: str
    steps: list[StepLine]
    detected: list[DetectedService]
    files_written: list[str]
    dockerfile_findings: list[Finding] = Field(description="Error-severity lint findings of the Dockerfile.")
    image: ImageSummary | None = None
    smoke: SmokeSummary | None = None
    secrets: SecretsSummary | None = None
    scan: ScanSummary | None = None
    push: PushSummary | None = None
    manifests: ManifestsSummary | None = None
    deploy: DeploySummary | None = None


def step_result(run: RunRecord, step_id: str, model: type[T]) -> T | None:
    """The step's stored outputs read back as its tool's result model (None when the step has none, or when they
    were stored by a version whose result had another shape)."""
    outputs = next((s.outputs for s in run.steps if s.step_id == step_id), None)
    result = read_as(model, outputs or None)
    if result is None and outputs:
        log.warning(
            "run %s step %s: stored outputs are not a %s (its section is left out)", run.id, step_id, model.__name__
        )
    return result


def build_report(run: RunRecord) -> ContainerizeReport:
    analysis = step_result(run, "analyze", AnalyzeResult)
    dockerfile = step_result(run, "dockerfile", GenerateResult)
    build = step_result(run, "build", BuildImageResult)
    smoke = step_result(run, "smoke", SmokeResult)
    scan = step_result(run, "scan", ScanImageResult)
    secrets = step_result(run, "secrets", ScanSecretsResult)
    push = step_result(run, "push", TransferResult)
    manifests = step_result(run, "manifests", GenerateManifestsResult)
    return ContainerizeReport(
        run_id=run.id,
        status=run.status,
        steps=[
            StepLine(
                id=s.step_id,
                status=s.status,
                attempts=s.attempts,
                error_code=s.error_code,
                reason=s.reason,
                duration_s=round(s.ended_at - s.started_at, 2) if s.ended_at and s.started_at else None,
            )
            for s in run.steps
        ],
        detected=[_detected(svc) for svc in analysis.analysis.services] if analysis else [],
        files_written=dockerfile.written if dockerfile else [],
        dockerfile_findings=[f for f in dockerfile.findings if f.severity == "error"] if dockerfile else [],
        image=ImageSummary(
            image_id=build.image_id,
            tags=build.tags,
            size_bytes=build.size_bytes,
            layers=build.layers,
            duration_s=build.duration_s,
            cache=build.cache,
            strategy=build.strategy,
        )
        if build
        else None,
        smoke=SmokeSummary(
            passed=smoke.passed,
            port=smoke.port,
            status_code=smoke.status_code,
            listening_ports=smoke.listening_ports,
            duration_s=smoke.duration_s,
        )
        if smoke
        else None,
        secrets=SecretsSummary(
            summary=secrets.report.summary, found=len(secrets.report.findings), warnings=secrets.report.warnings
        )
        if secrets
        else None,
        scan=ScanSummary(
            summary=scan.report.summary,
            counts=scan.report.counts,
            fixable=scan.report.fixable,
            total=scan.report.total,
            remediation=scan.report.remediation,
        )
        if scan
        else None,
        push=PushSummary(
            reference=push.transfer.reference,
            digest=push.transfer.digest,
            verified=push.transfer.verified,
            attempts=push.transfer.attempts,
        )
        if push
        else None,
        manifests=ManifestsSummary(out_dir=manifests.out_dir, files=manifests.files, format=manifests.format)
        if manifests
        else None,
        deploy=_deploy_summary(step_result(run, "deploy", DeployResult), step_result(run, "verify", VerifyResult)),
    )


def _detected(svc: ServiceAnalysis) -> DetectedService:
    why = {e.field: f"{e.file}{':' + str(e.line) if e.line else ''} — {e.detail}" for e in svc.evidence}
    return DetectedService(
        path=svc.path,
        language=svc.language,
        language_version=svc.language_version,
        framework=svc.framework,
        port=svc.port,
        health_path=svc.health_path,
        why=why,
    )


def _deploy_summary(deploy: DeployResult | None, verify: VerifyResult | None) -> DeploySummary | None:
    if deploy is None:
        return None
    probe = verify.probe if verify is not None else None
    return DeploySummary(
        context=deploy.context,
        namespace=deploy.namespace,
        server_version=deploy.server_version,
        applied=len(deploy.applied),
        rollouts=[f"{r.name}: {r.ready_replicas}/{r.replicas} ready, revision {r.revision}" for r in deploy.rollouts],
        probe=f"GET {probe.proxy_path} -> {probe.status_code}" if probe is not None else None,
    )


def render_markdown(report: ContainerizeReport) -> str:
    lines = [
        f"# Containerize report — run {report.run_id} ({report.status})",
        "",
        "## Steps",
        "",
        "| step | state | time | note |",
        "|---|---|---|---|",
    ]
    for s in report.steps:
        note = s.error_code or s.reason or ""
        lines.append(f"| {s.id} | {STATE_ICON.get(s.status, '')} {s.status} | {s.duration_s or ''} | {note} |")
    lines += ["", "## Detected", ""]
    for svc in report.detected:
        lines.append(
            f"- **{svc.path}**: {svc.language} {svc.language_version or ''} "
            f"{svc.framework or ''}, port {svc.port or '-'}, health {svc.health_path or '-'}"
        )
        for field, why in svc.why.items():
            lines.append(f"  - {field}: {why}")
    if report.files_written:
        lines += ["", "## Files written", "", *[f"- `{f}`" for f in report.files_written]]
    sections: list[tuple[str, _Section | None]] = [
        ("Secrets in the build context", report.secrets),
        ("Image", report.image),
        ("Smoke test", report.smoke),
        ("Scan", report.scan),
        ("Push", report.push),
        ("Manifests", report.manifests),
        ("Deploy", report.deploy),
    ]
    for title, section in sections:
        if section is not None:
            items = section.model_dump(mode="json", exclude_none=True).items()
            lines += ["", f"## {title}", "", *[f"- {k}: `{v}`" for k, v in items]]
    return "\n".join(lines) + "\n"
