"""Scan tools: scan_image, scan_secrets, db_update, db_status (thin: logic lives in containerkit.scan)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Literal

import anyio
from pydantic import Field

from containerkit import metrics
from containerkit.analysis.models import RepoAnalysis
from containerkit.engine.containers import save_image
from containerkit.errors import (
    EngineError,
    InvalidInputError,
    JSONValue,
    NotFoundError,
    PolicyViolationError,
    ScanError,
)
from containerkit.findings import Finding
from containerkit.imageref import check_image
from containerkit.scan import dbupdate, eol, osv, policy, vex
from containerkit.scan.cyclonedx import with_vulnerabilities
from containerkit.scan.models import DbEcosystem, DbStatus, ScanReport, SecretScanReport, Threshold
from containerkit.scan.report import finding_key, image_repository, trend
from containerkit.scan.sarif import to_sarif
from containerkit.scan.secrets.context import scan_context
from containerkit.scan.secrets.layers import scan_saved_image
from containerkit.scan.service import ScannerSet, ScanOutcome, default_db_path, scan
from containerkit.settings import Settings
from containerkit.tools import _policy
from containerkit.tools.base import ToolContext, ToolParams, ToolResult
from containerkit.tools.registry import REGISTRY
from containerkit.tools.state import ScanMemo, ScansState


class ScanImageParams(ToolParams):
    image: str | None = Field(
        None,
        description="Image reference in the local engine, e.g. app:1.0 or 127.0.0.1:5001/app:1.0 "
        "(required unless sbom_in is given).",
    )
    sbom_in: str | None = Field(
        None,
        description="Scan this SBOM (CycloneDX or SPDX JSON, or syft's) instead of an image: "
        "the built-in scanner matches its packages; no engine needed.",
    )
    scanner: Literal["auto", "trivy", "grype", "builtin"] | None = Field(
        None,
        description="auto runs every installed scanner plus the built-in one (when it has a database); default from "
        "settings.",
    )
    severity: Literal["unknown", "negligible", "low", "medium", "high", "critical"] | None = Field(
        None, description="Only report findings at or above this severity (default: all)."
    )
    fail_on: Threshold | None = Field(
        None, description="Policy gate: POLICY_VIOLATION when a finding reaches this severity."
    )
    fail_on_unknown: bool = Field(
        False,
        description="With fail_on: findings of unknown severity fail the gate too (else they "
        "pass it and are counted in policy.unknown_not_gated and the warnings).",
    )
    allow_file: str | None = Field(
        None, description="YAML allow-list: allow: [{id, package?, expires: YYYY-MM-DD, reason}]."
    )
    ignore_file: str | None = Field(
        None,
        description="Ignore file in .trivyignore syntax (id or purl per line, optional "
        "exp:YYYY-MM-DD, # reason): its findings stay in the report, marked ignored, outside the gate.",
    )
    ignore_unfixed: bool = Field(
        False, description="Set aside findings with no fix published (marked ignored, outside the gate)."
    )
    max_db_age: int | None = Field(
        None,
        ge=0,
        description="The gate fails (POLICY_VIOLATION) when the built-in scanner's "
        "database is older than this many days, or has no download date; default the "
        "scan.fail_on_db_age_days setting.",
    )
    fail_on_eol: bool = Field(
        False,
        description="The gate fails when the base image's distribution or runtime is past its "
        "end of support (always reported: a CK-EOL rule in policy.rules and a warning).",
    )
    vex: list[str] = Field(
        default_factory=list,
        description="OpenVEX or CycloneDX VEX documents: a finding a not_affected or "
        "fixed statement covers stays in the report with vex and ignored (status, justification) and no "
        "longer counts for the gate.",
    )
    db_path: str | None = Field(
        None, description="OSV database directory or zip (default: settings scan.db_path or <home>/osv)."
    )
    repo_path: str | None = Field(
        None, description="Repository the image was built from: remediation points at its manifest lines."
    )
    sarif_path: str | None = Field(None, description="Also write SARIF 2.1.0 here.")
    sbom_path: str | None = Field(
        None,
        description="Also write the SBOM here: CycloneDX JSON with the vulnerabilities "
        "(ratings, affected components, VEX analysis), or SPDX 2.3 JSON (sbom_format).",
    )
    sbom_format: Literal["cyclonedx", "spdx"] = Field("cyclonedx", description="Format of sbom_path.")
    policy: str | None = Field(
        None,
        description=_policy.PARAM_DESCRIPTION + " The input is the scan report (findings with "
        "severity, fixed_versions, published; counts; image).",
    )


class ScanImageResult(ToolResult):
    report: ScanReport
    report_artifact: str = Field(description="Artifact id of the stored JSON report (kind scan_report).")
    sbom_artifact: str = Field(description="Artifact id of the CycloneDX SBOM (kind sbom).")
    sarif_artifact: str = Field(description="Artifact id of the SARIF report (kind sarif).")
    written: list[str] = Field(default_factory=list, description="Files written (--sarif / --sbom).")

    def record_metrics(self, tool: str) -> None:
        counts: dict[tuple[str, bool], int] = {}
        for f in self.report.findings:
            if f.ignored is None:
                counts[(f.severity, f.fixable)] = counts.get((f.severity, f.fixable), 0) + 1
        metrics.scan_findings(counts)


def _scanners(settings: Settings) -> ScannerSet:
    return ScannerSet.from_settings(settings)


def _ignoring(
    ctx: ToolContext, outcome: ScanOutcome, params: ScanImageParams, statements: list[vex.Statement]
) -> tuple[ScanOutcome, list[policy.IgnoreEntry]]:
    """The scan with its findings marked ignored by the ignore file / ignore_unfixed and set aside by the VEX
    statements, and the ignore file's expired entries."""
    path = ctx.resolve_path(params.ignore_file) if params.ignore_file else None
    entries = policy.load_ignore_file(path) if path is not None else []
    source = path.name if path is not None else "ignore_unfixed"
    shown, expired = policy.apply_ignores(
        outcome.report.findings, entries, source, ignore_unfixed=params.ignore_unfixed
    )
    every, _ = policy.apply_ignores(outcome.all_findings, entries, source, ignore_unfixed=params.ignore_unfixed)
    shown, every = vex.apply(shown, statements), vex.apply(every, statements)
    ignored = sum(1 for f in shown if f.ignored)
    report = outcome.report.model_copy(
        update={
            "findings": shown,
            "warnings": [
                *outcome.report.warnings,
                *([f"{ignored} finding(s) ignored (marked in the report; outside the gate)"] if ignored else []),
            ],
        }
    )
    return replace(outcome, report=report, all_findings=every), expired


async def _require_local_image(ctx: ToolContext, image: str) -> str | None:
    """The scan reads the engine's image: a missing one is IMAGE_NOT_FOUND (syft would otherwise try to pull it).
    Returns the DOCKER_HOST of the engine holding it (None: the default engine), for syft."""
    engine = await ctx.engine_for(image)
    try:
        await engine.inspect(image)
        return engine.settings.docker_host
    except NotFoundError as e:
        raise EngineError(
            f"image {image} is not present on the engine",
            code="IMAGE_NOT_FOUND",
            hint="Build it ({tool:build_image}) or pull it ({tool:pull_image}) first: a scan reads the local image "
            "and never pulls one.",
            details={"image": image},
        ) from e


@REGISTRY.tool(
    "scan_image",
    effects=("writes_files", "runs_containers"),
    title="Scan an image for vulnerabilities",
    group="scan",
    idempotent=False,
    store_result=True,
    params=ScanImageParams,
    result=ScanImageResult,
    description="Inventory an image with syft and find known vulnerabilities (Trivy, Grype when installed, and a "
    "built-in offline "
    "OSV matcher). Merged, deduplicated findings with severity, CVSS, fixed versions, layer, remediation "
    "(base-image/apt upgrades, "
    "manifest lines to change), trend against the previous scan, SARIF, CycloneDX (with the vulnerabilities) or SPDX "
    "outputs, and a "
    "policy gate (fail_on, allow-list, ignore file, VEX, your Rego policies, end-of-life base images, database age). "
    "Also "
    "scans an SBOM file instead of an image (sbom_in).",
)
async def scan_image(ctx: ToolContext, params: ScanImageParams) -> ScanImageResult:
    sbom_in = ctx.resolve_path(params.sbom_in) if params.sbom_in else None
    if sbom_in is None:
        if not params.image:
            raise InvalidInputError(
                "nothing to scan: give an image, or an SBOM with sbom_in",
                hint="Pass an image of the local engine (app:1.0), or sbom_in with a CycloneDX/SPDX file.",
            )
        image = check_image(params.image)
        docker_host = await _require_local_image(ctx, image)
    else:
        image = params.image or sbom_in.name  # the SBOM's own name for the image replaces it once read
        docker_host = None
    settings = ctx.settings
    scanners = ctx.services.get(ScannerSet, _scanners)
    docker_host = docker_host or scanners.docker_host
    db_path = ctx.resolve_path(params.db_path) if params.db_path else None
    allow = policy.load_allow_list(ctx.resolve_path(params.allow_file)) if params.allow_file else []
    policies = _policy.load(ctx, params.policy)  # before the slow work: a broken policy is an input error at once
    statements = [st for file in params.vex for st in vex.load(ctx.resolve_path(file))]
    repo, manifests = _repo(ctx, params.repo_path)
    chosen, warnings = scanners.select(params.scanner or settings.scan.scanner, db_path)
    if sbom_in is not None:  # an SBOM is matched by the built-in scanner; Trivy and Grype read images here
        skipped = [s.name for s in chosen if not s.needs_sbom]
        chosen = [s for s in chosen if s.needs_sbom] or scanners.select("builtin", db_path)[0]
        warnings = [
            *warnings,
            *([f"{', '.join(skipped)} skipped: an SBOM is matched by the built-in scanner"] if skipped else []),
        ]
    await ctx.report(0, len(chosen) + 1, f"inventorying {image} with syft")
    try:
        outcome = await scan(
            image,
            chosen,
            ctx.workspace / "scan",
            min_severity=params.severity,
            repo=repo,
            manifests=manifests,
            docker_host=docker_host,
            timeout=scanners.timeout,
            warnings=warnings,
            sbom_in=sbom_in,
        )
    except ScanError as e:  # matching cannot run (no database): the SBOM asked for is still written
        if params.sbom_path and e.code == "SCAN_DB_MISSING" and sbom_in is None:
            from containerkit.scan.sbom import sbom_document

            text = await sbom_document(
                image, "cyclonedx", ctx.workspace / "scan", docker_host=docker_host, timeout=scanners.timeout
            )
            sbom_file = _write_output(ctx, params.sbom_path, text)
            e.details["sbom_written"] = sbom_file
            e.message = f"{e.message} (the SBOM was written to {sbom_file})"
        raise
    if params.ignore_file or params.ignore_unfixed or statements:
        outcome, expired = _ignoring(ctx, outcome, params, statements)
        if expired:
            note = "expired ignore entries no longer apply: " + ", ".join(
                f"{e.target} (exp:{e.expires})" for e in expired
            )
            outcome = replace(
                outcome, report=outcome.report.model_copy(update={"warnings": [*outcome.report.warnings, note]})
            )
    kept = ctx.stored("scans", ScansState)
    scans = dict(kept.root) if kept is not None else {}
    image = outcome.report.image  # an SBOM names its image
    repo_key = image_repository(image)
    previous = scans.get(repo_key)
    report = outcome.report.model_copy(
        update={"trend": trend(previous.model_dump() if previous else None, outcome.report.findings)}
    )
    gate = policy.evaluate(
        outcome.all_findings, params.fail_on or settings.scan.fail_on, allow, fail_on_unknown=params.fail_on_unknown
    )
    ended = eol.check(
        outcome.syft.sbom.distro_id, outcome.syft.sbom.distro_version, eol.image_env(outcome.syft.syft_json)
    )
    if ended:  # a policy finding of its own: a warning, or a failure of the gate with fail_on_eol
        notes = [
            Finding(
                rule="CK-EOL",
                severity="error" if params.fail_on_eol else "warning",
                message=e.message,
                policy=f"built-in end-of-life table ({eol.table()['snapshot']})",
            )
            for e in ended
        ]
        gate = gate.model_copy(
            update={"rules": [*gate.rules, *notes], "passed": gate.passed and not params.fail_on_eol}
        )
        report = report.model_copy(update={"warnings": [*report.warnings, *(e.message for e in ended)]})
    limit = params.max_db_age if params.max_db_age is not None else settings.scan.fail_on_db_age_days
    db = outcome.report.db
    if limit is not None and db is not None and (db.age_days is None or db.age_days > limit):
        age = "has no download date" if db.age_days is None else f"is {db.age_days:.0f} days old"
        gate = gate.model_copy(
            update={"passed": False, "stale_db": f"the vulnerability database {age} (limit {limit})"}
        )
    if policies is not None:
        rules = [
            Finding(rule=r.rule, severity=r.severity, message=r.message, policy=r.policy, source="policy")
            for r in policies.evaluate(report.model_copy(update={"policy": gate}).model_dump(mode="json"))
        ]
        gate = gate.model_copy(
            update={
                "rules": [*gate.rules, *rules],
                "passed": gate.passed and not any(r.severity == "error" for r in rules),
            }
        )
        report = report.model_copy(
            update={
                "warnings": [
                    *report.warnings,
                    *(f"policy {r.policy} ({r.rule}): {r.message}" for r in rules if r.severity == "warning"),
                ]
            }
        )
    report = report.model_copy(update={"policy": gate})
    if gate.unknown_not_gated:
        report = report.model_copy(
            update={
                "warnings": [
                    *report.warnings,
                    (
                        f"{gate.unknown_not_gated} finding(s) of unknown severity passed the {gate.fail_on} gate: "
                        "their records give no "
                        "severity; pass fail_on_unknown (--fail-on-unknown) to fail on them"
                    ),
                ]
            }
        )
    stored = ctx.artifact(
        "scan_report", f"{repo_key.replace('/', '_')}.json", report.model_dump_json(indent=2), "application/json"
    )
    sbom = ctx.artifact("sbom", "sbom.cdx.json", outcome.syft.cyclonedx_json, "application/vnd.cyclonedx+json")
    sarif_text = json.dumps(
        to_sarif(report, dockerfile="Dockerfile" if repo is not None and (repo / "Dockerfile").is_file() else None),
        indent=2,
    )
    sarif = ctx.artifact("sarif", "scan.sarif", sarif_text, "application/sarif+json")
    scans[repo_key] = ScanMemo(
        artifact_id=stored.id,
        image=image,
        scanned_at=report.scanned_at,
        keys=sorted(finding_key(f) for f in report.findings),
        counts=report.counts.model_dump(),
    )
    ctx.put_state("scans", ScansState(scans))
    written = await _write_outputs(ctx, params, sarif_text, outcome, report)
    await ctx.report(len(chosen) + 1, len(chosen) + 1, report.summary)
    if not gate.passed:
        denied = [r for r in gate.rules if r.severity == "error"]
        raise PolicyViolationError(
            "; ".join(
                [
                    *(
                        [f"{len(gate.violations)} finding(s) at or above {gate.fail_on} in {image}"]
                        if gate.violations
                        else []
                    ),
                    *([gate.stale_db] if gate.stale_db else []),
                    *(r.message for r in gate.rules if r.rule == "CK-EOL" and r.severity == "error"),
                    *(f"policy {r.policy} ({r.rule}): {r.message}" for r in denied[:3]),
                ]
            ),
            hint=("Run {tool:db_update} for current advisories. " if gate.stale_db else "")
            + "Upgrade the packages (see remediation in the report artifact), or allow-list an accepted risk with an "
            "expiry date" + (" (a policy's denial goes away when what it checks changes)." if denied else "."),
            details={
                "summary": report.summary,
                "policy": gate.model_dump(mode="json"),
                "report_artifact": stored.id,
                "counts": report.counts.model_dump(),
                "written": list[JSONValue](written),
                "report": report.model_dump(mode="json"),
            },  # CI reads the report exactly when the gate fails
        )
    return ScanImageResult(
        report=report, report_artifact=stored.id, sbom_artifact=sbom.id, sarif_artifact=sarif.id, written=written
    )


def _repo(ctx: ToolContext, repo_path: str | None) -> tuple[Path | None, list[str]]:
    kept_path = ctx.state().get("repo_path")
    raw = repo_path or (kept_path if isinstance(kept_path, str) else None)
    if not raw:
        return None, []
    repo = ctx.resolve_path(raw)
    manifests: list[str] = []
    analysis = ctx.stored("analysis", RepoAnalysis)
    if analysis is not None and Path(analysis.path).resolve() == repo:
        for s in analysis.services:
            for name in (s.manifest, s.lockfile):
                if name:
                    manifests.append(str(Path(s.path) / name) if s.path != "." else name)
    return repo, manifests


async def _write_outputs(
    ctx: ToolContext, params: ScanImageParams, sarif_text: str, outcome: ScanOutcome, report: ScanReport
) -> list[str]:
    written = [_write_output(ctx, params.sarif_path, sarif_text)] if params.sarif_path else []
    if params.sbom_path:
        if params.sbom_format == "spdx":
            from containerkit.scan.sbom import convert

            text = await convert(outcome.syft.syft_json, "spdx", ctx.workspace / "scan")
        else:
            text = with_vulnerabilities(outcome.syft.cyclonedx_json, report)
        written.append(_write_output(ctx, params.sbom_path, text))
    return written


def _write_output(ctx: ToolContext, raw: str, content: str) -> str:
    """Write a report the caller asked for (SARIF, an SBOM) at ``raw``, inside the allowed roots; the path written."""
    path = ctx.resolve_path(raw, must_exist=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return str(path)


class SbomParams(ToolParams):
    image: str = Field(description="Image reference or id in the local engine.")
    format: Literal["cyclonedx", "spdx"] = Field(
        "cyclonedx", description="cyclonedx (CycloneDX JSON) or spdx (SPDX 2.3 JSON)."
    )
    output: str | None = Field(None, description="Write the SBOM to this file (it is also kept as a session artifact).")


class SbomResult(ToolResult):
    image: str
    format: str
    media_type: str
    components: int = Field(description="Packages listed (CycloneDX components, SPDX packages).")
    artifact_id: str
    written: str | None = Field(description="The file written, when output was given.")


@REGISTRY.tool(
    "generate_sbom",
    effects=("writes_files",),
    title="Generate an SBOM",
    group="scan",
    idempotent=True,
    description="The software bill of materials of a local image, by syft, as CycloneDX or SPDX 2.3 JSON: no "
    "vulnerability "
    "database needed. Kept as a session artifact and written to output when given.",
    params=SbomParams,
    result=SbomResult,
)
async def generate_sbom(ctx: ToolContext, params: SbomParams) -> SbomResult:
    from containerkit.scan.sbom import SBOM_FORMATS, sbom_document

    image = check_image(params.image)
    docker_host = await _require_local_image(ctx, image)
    scanners = ctx.services.get(ScannerSet, _scanners)
    await ctx.report(0, 1, f"inventorying {image} with syft")
    text = await sbom_document(
        image,
        params.format,
        ctx.workspace / "sbom",
        docker_host=docker_host or scanners.docker_host,
        timeout=scanners.timeout,
    )
    media_type = SBOM_FORMATS[params.format][1]
    doc = json.loads(text)
    components = len(doc.get("components") or []) if params.format == "cyclonedx" else len(doc.get("packages") or [])
    artifact = ctx.artifact("sbom", f"sbom.{params.format}.json", text, media_type)
    written = _write_output(ctx, params.output, text) if params.output else None
    await ctx.report(1, 1, f"{components} components")
    return SbomResult(
        image=image,
        format=params.format,
        media_type=media_type,
        components=components,
        artifact_id=artifact.id,
        written=written,
    )


# --- secrets -----------------------------------------------------------------------------


class ScanSecretsParams(ToolParams):
    target: str = Field(description="A build-context directory, or an image reference in the local engine.")
    fail_on: Literal["none", "any", "shipped"] = Field(
        "none",
        description="Gate: POLICY_VIOLATION (CLI exit 3) when any finding is made, or (shipped) any that reaches the "
        "image: "
        "every image finding, and context files the build receives (not those .dockerignore excludes).",
    )


class ScanSecretsResult(ToolResult):
    report: SecretScanReport


@REGISTRY.tool(
    "scan_secrets",
    effects=(),
    title="Find secrets in a build context or image",
    group="scan",
    idempotent=True,
    store_result=True,
    params=ScanSecretsParams,
    result=ScanSecretsResult,
    description="Find private keys, cloud keys (AWS, GCP service accounts, Azure) and tokens (GitHub, GitLab, Slack, "
    "Stripe, "
    "high-entropy passwords) in a build context (.dockerignore applied: says whether each file is sent to the build) "
    "or in every "
    "layer of an image, including files deleted by later layers, and in the image configuration anyone can read (ENV, "
    "labels, "
    "history created-by lines). A private-key header counts only with real key material after it. Values are masked "
    "(first 4 characters); fail_on gates on findings (POLICY_VIOLATION).",
)
async def scan_secrets(ctx: ToolContext, params: ScanSecretsParams) -> ScanSecretsResult:
    if _looks_like_path(params.target):
        root = ctx.resolve_path(params.target)
        report = await anyio.to_thread.run_sync(scan_context, root)
    else:
        image = check_image(params.target)
        client = await (await ctx.engine_for(image)).client()
        with tempfile.TemporaryDirectory(prefix="ck-secrets-") as tmp:  # no session needed for a temporary export
            saved = Path(tmp) / "image.tar"
            with saved.open("wb") as out:
                await anyio.to_thread.run_sync(save_image, client, image, out)
            report = await anyio.to_thread.run_sync(scan_saved_image, saved, image)
    gated = [
        f
        for f in report.findings
        if params.fail_on == "any" or (params.fail_on == "shipped" and f.in_build_context is not False)
    ]
    if gated:
        raise PolicyViolationError(
            f"{len(gated)} secret(s) in {params.target} ({', '.join(sorted({f.rule for f in gated}))})",
            hint="Remove the secrets, rotate them, and pass them at run time (environment, build secrets) instead of "
            "baking them in.",
            details={"summary": report.summary, "report": report.model_dump(mode="json")},
        )
    return ScanSecretsResult(report=report)


def _looks_like_path(target: str) -> bool:
    return target.startswith(("/", ".", "~")) or Path(target).expanduser().is_dir()


# --- database ------------------------------------------------------------------------------


class DbUpdateParams(ToolParams):
    ecosystems: list[str] = Field(
        default_factory=list, description="OSV ecosystems to download (default: settings scan.ecosystems)."
    )
    db_path: str | None = Field(None, description="Database directory (default: settings scan.db_path or <home>/osv).")


class DbUpdateResult(ToolResult):
    downloaded: list[DbEcosystem]
    status: DbStatus


class DbStatusParams(ToolParams):
    db_path: str | None = Field(
        None, description="Database directory or zip (default: settings scan.db_path or <home>/osv)."
    )


class DbStatusResult(ToolResult):
    status: DbStatus


@REGISTRY.tool(
    "db_update",
    effects=("network", "updates_store"),
    title="Download vulnerability databases",
    group="scan",
    idempotent=True,
    params=DbUpdateParams,
    result=DbUpdateResult,
    description="Download OSV's <Ecosystem>/all.zip for the named ecosystems into the local database and record the "
    "date. Needs network.",
)
async def db_update(ctx: ToolContext, params: DbUpdateParams) -> DbUpdateResult:
    settings = ctx.settings
    root = ctx.resolve_path(params.db_path, must_exist=False) if params.db_path else default_db_path(settings)
    ecosystems = params.ecosystems or settings.scan.ecosystems
    await ctx.report(0, len(ecosystems), f"downloading {', '.join(ecosystems)}")
    downloaded = await dbupdate.update(root, ecosystems, settings.scan.osv_base_url, timeout=settings.scan.timeout_s)
    return DbUpdateResult(downloaded=downloaded, status=osv.status(root, settings.scan.db_max_age_days))


@REGISTRY.tool(
    "db_status",
    effects=(),
    title="Show the vulnerability database",
    group="scan",
    idempotent=True,
    params=DbStatusParams,
    result=DbStatusResult,
    description="What the local OSV database holds: ecosystems, record counts, download dates and age.",
)
async def db_status(ctx: ToolContext, params: DbStatusParams) -> DbStatusResult:
    settings = ctx.settings
    root = ctx.resolve_path(params.db_path) if params.db_path else default_db_path(settings)
    return DbStatusResult(status=osv.status(root, settings.scan.db_max_age_days))
