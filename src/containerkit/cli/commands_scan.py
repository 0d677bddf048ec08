"""`containerkit scan`, `containerkit scan-secrets`, `containerkit db update|status`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from containerkit.cli.params import tool_options
from containerkit.cli.runner import err_console, invoke
from containerkit.errors import ContainerKitError

if TYPE_CHECKING:
    from containerkit.scan.models import DbStatus
    from containerkit.tools.scan import ScanImageResult, ScanSecretsResult


JSON_OPT = typer.Option(False, "--json", help="Print the tool's result model as JSON.")
_COLORS = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "negligible": "dim",
    "unknown": "dim",
}


def render_scan(out: Console, result: ScanImageResult) -> None:
    r = result.report
    ran = ", ".join(f"{s.name} ({s.findings})" for s in r.scanners)
    out.print(Text.assemble((r.image, "bold"), f" — {r.packages} packages, scanners: {ran}"))
    if r.findings:
        table = Table()
        for col in ("severity", "id", "package", "installed", "fixed in", "cvss", "found by"):
            table.add_column(col)
        for f in r.findings:
            table.add_row(
                Text(f.severity, _COLORS[f.severity]),
                f.id,
                f.package,
                f.installed_version,
                ", ".join(f.fixed_versions) or "-",
                f"{f.cvss_score:.1f}" if f.cvss_score is not None else "-",
                ", ".join(f.found_by),
            )
        out.print(table)
    for fix in r.remediation:
        out.print(Text.assemble(("fix", "green"), f" {fix.action}"), soft_wrap=True)
    if r.agreement:
        a = r.agreement
        out.print(
            f"agreement: {a.found_by_all} found by all of {', '.join(a.scanners)}, {a.found_by_one} by one "
            f"({', '.join(f'{k}: {v}' for k, v in a.only.items())})"
        )
    if r.trend:
        out.print(
            f"since {r.trend.previous_at}: {len(r.trend.new)} new, {len(r.trend.fixed)} fixed, {r.trend.unchanged} "
            "unchanged"
        )
    if r.policy and r.policy.expired_entries:
        out.print(
            Text.assemble(
                ("expired allow-list entries (not applied):", "yellow"),
                f" {', '.join(e.id for e in r.policy.expired_entries)}",
            )
        )
    for warning in r.warnings:
        out.print(Text.assemble(("warning:", "yellow"), f" {warning}"), soft_wrap=True)
    out.print(Text(r.summary, "bold"), soft_wrap=True)
    if result.written:
        out.print(f"wrote {', '.join(result.written)}")


def _policy_error(error: ContainerKitError) -> None:
    if error.code != "POLICY_VIOLATION":
        return
    policy = error.details.get("policy")
    if isinstance(policy, dict):
        violations = policy.get("violations")
        for v in violations if isinstance(violations, list) else []:
            if isinstance(v, dict):
                err_console.print(
                    f"  {v.get('severity')}  {v.get('id')}  {v.get('package')} {v.get('installed_version')}"
                )
        expired = policy.get("expired_entries")
        for entry in expired if isinstance(expired, list) else []:
            if isinstance(entry, dict):
                err_console.print(
                    f"  expired allow-list entry (not applied): {entry.get('id')} (expired {entry.get('expires')})",
                    highlight=False,
                )
    summary = error.details.get("summary")
    if isinstance(summary, str):
        err_console.print(summary, soft_wrap=True)


def render_secrets(out: Console, result: ScanSecretsResult) -> None:
    r = result.report
    if r.findings:
        table = Table(title=f"{r.target} ({r.kind}, {r.files_scanned} files)")
        for col in ("rule", "file", "line", "match", "where"):
            table.add_column(col)
        for f in r.findings:
            where: str | Text
            if r.kind == "context":
                where = "sent to build" if f.in_build_context else "excluded by .dockerignore"
            elif f.layer_index is None:
                where = "image configuration (docker inspect / docker history)"
            else:
                later = " (deleted later, still in image)" if f.deleted_in_later_layer else ""
                where = Text.assemble(f"layer {f.layer_index}", (later, "red"))
            table.add_row(f.rule, f.file, str(f.line), f.masked, where)
        out.print(table)
    out.print(Text(r.summary, "bold"), soft_wrap=True)


def render_db(out: Console, status: DbStatus) -> None:
    out.print(f"database: {status.path} ({'present' if status.exists else 'missing'})")
    if status.ecosystems:
        table = Table()
        for col in ("ecosystem", "records", "updated", "source"):
            table.add_column(col)
        for e in status.ecosystems:
            table.add_row(e.ecosystem, str(e.records), e.updated_at or "-", e.source or "-")
        out.print(table)
    if status.age_days is not None:
        stale = status.age_days > status.max_age_days
        out.print(
            Text.assemble(
                f"age: {status.age_days:.1f} days (",
                (f"{'older than' if stale else 'within'} {status.max_age_days} days", "red" if stale else "green"),
                ")",
            )
        )


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="The local OSV vulnerability database of the built-in scanner.", no_args_is_help=True)
    app.add_typer(db, name="db")

    @app.command("scan")
    @tool_options(
        "scan_image",
        given={
            "sarif_path": "sarif",
            "sbom_path": "sbom",
            "allow_file": "allow",
            "ignore_file": "ignorefile",
            "vex": "vex_files",
            "repo_path": "repo",
            "session_id": "session",
        },
    )
    def scan_cmd(
        image: str = typer.Argument(None, help="Image in the local engine (leave out with --sbom-in)."),
        sbom_in: str = typer.Option(
            None, "--sbom-in", help="Scan this SBOM (CycloneDX or SPDX JSON) instead of an image."
        ),
        scanner: str = typer.Option(None, "--scanner", help="auto|trivy|grype|builtin (default from settings: auto)."),
        severity: str = typer.Option(
            None, "--severity", help="Only show findings at or above: low|medium|high|critical."
        ),
        fail_on: str = typer.Option(
            None, "--fail-on", help="Exit 3 (POLICY_VIOLATION) when a finding reaches: low|medium|high|critical."
        ),
        fail_on_eol: bool = typer.Option(
            False,
            "--fail-on-eol",
            help="Exit 3 when the base image's distribution or runtime is "
            "past its end of support (always reported as a warning).",
        ),
        max_db_age: int = typer.Option(
            None,
            "--max-db-age",
            help="Exit 3 when the built-in scanner's database is older than this many days (or undated).",
        ),
        fail_on_unknown: bool = typer.Option(
            False,
            "--fail-on-unknown",
            help="With --fail-on: findings of unknown severity fail "
            "the gate too (else they pass it, counted in a warning).",
        ),
        sarif: str = typer.Option(None, "--sarif", help="Write SARIF 2.1.0 to this file."),
        sbom: str = typer.Option(
            None, "--sbom", help="Write the SBOM to this file (CycloneDX with the vulnerabilities, or SPDX)."
        ),
        sbom_format: str = typer.Option(
            "cyclonedx", "--sbom-format", help="cyclonedx (with the vulnerabilities) or spdx (SPDX 2.3)."
        ),
        db_path: str = typer.Option(None, "--db", help="OSV database directory or zip."),
        allow: str = typer.Option(None, "--allow", help="Allow-list YAML (id, package, expires, reason)."),
        ignorefile: str = typer.Option(
            None,
            "--ignorefile",
            help="Ignore file in .trivyignore syntax (default: .containerkitignore "
            "in the current directory, when there is one).",
        ),
        ignore_unfixed: bool = typer.Option(
            False, "--ignore-unfixed", help="Set aside findings with no fix published."
        ),
        vex_files: list[str] = typer.Option(
            None,
            "--vex",
            help="OpenVEX or CycloneDX VEX document (repeatable): not_affected "
            "and fixed statements set their findings aside.",
        ),
        repo: str = typer.Option(None, "--repo", help="Source repository: remediation names manifest lines."),
        policy: str = typer.Option(
            None,
            "--policy",
            help="Directory of Rego policies (conftest's conventions) checked "
            "beside the built-in rules. The input is the report; a deny fails the gate (exit 3).",
        ),
        session: str = typer.Option(None, "--session", help="Session (trends compare with its previous scans)."),
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """Find known vulnerabilities in an image; merged report with remediation, SARIF/SBOM outputs and a policy
        gate."""
        if ignorefile is None and Path(".containerkitignore").is_file():
            ignorefile = ".containerkitignore"
        invoke(
            "scan_image",
            {
                "image": image,
                "sbom_in": sbom_in,
                "scanner": scanner,
                "severity": severity,
                "fail_on": fail_on,
                "fail_on_unknown": fail_on_unknown,
                "sarif_path": sarif,
                "ignore_file": ignorefile,
                "ignore_unfixed": ignore_unfixed,
                "vex": vex_files or [],
                "max_db_age": max_db_age,
                "fail_on_eol": fail_on_eol,
                "sbom_format": sbom_format,
                "sbom_path": sbom,
                "db_path": db_path,
                "allow_file": allow,
                "repo_path": repo,
                "policy": policy,
                "session_id": session,
                **(derived or {}),
            },
            as_json=as_json,
            render=render_scan,
            progress_title=f"scanning {image or sbom_in}",
            on_error=_policy_error,
        )

    @app.command("scan-secrets")
    @tool_options("scan_secrets")
    def scan_secrets_cmd(
        target: str = typer.Argument(..., help="Build-context directory or image reference."),
        fail_on: str = typer.Option(
            "none",
            "--fail-on",
            help="Exit 3 (POLICY_VIOLATION) on any finding (any), or on those "
            "that reach the image (shipped: not the files .dockerignore excludes).",
        ),
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """Find secrets in a build context (.dockerignore-aware), image layers and image configuration (masked)."""
        invoke(
            "scan_secrets",
            {"target": target, "fail_on": fail_on, **(derived or {})},
            as_json=as_json,
            render=render_secrets,
            progress_title=f"looking for secrets in {target}",
        )

    @app.command("sbom")
    @tool_options("generate_sbom", given={"format": "fmt"})
    def sbom_cmd(
        image: str = typer.Argument(..., help="Image reference or id in the local engine."),
        output: str = typer.Option(None, "--output", "-o", help="Write the SBOM to this file."),
        fmt: str = typer.Option("cyclonedx", "--format", help="cyclonedx (CycloneDX JSON) or spdx (SPDX 2.3 JSON)."),
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """Write the image's software bill of materials (syft; no vulnerability database needed)."""
        invoke(
            "generate_sbom",
            {"image": image, "output": output, "format": fmt, **(derived or {})},
            as_json=as_json,
            render=lambda out, r: out.print(
                f"{r.format} SBOM of {r.image}: {r.components} components"
                + (f", written to {r.written}" if r.written else f" (artifact {r.artifact_id})")
            ),
            progress_title=f"SBOM of {image}",
        )

    @db.command("update")
    @tool_options("db_update", given={"ecosystems": "ecosystem"})
    def db_update_cmd(
        ecosystem: list[str] = typer.Option(
            None, "--ecosystem", help="Ecosystem to download (repeatable): PyPI, npm, Debian, ..."
        ),
        db_path: str = typer.Option(None, "--db", help="Database directory."),
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """Download OSV databases (needs network)."""
        invoke(
            "db_update",
            {"ecosystems": ecosystem or [], "db_path": db_path, **(derived or {})},
            as_json=as_json,
            render=lambda out, r: render_db(out, r.status),
            progress_title="downloading OSV databases",
        )

    @db.command("status")
    @tool_options("db_status")
    def db_status_cmd(
        db_path: str = typer.Option(None, "--db", help="Database directory or zip."),
        as_json: bool = JSON_OPT,
        derived: dict[str, object] | None = None,
    ) -> None:
        """Show the local database: ecosystems, record counts, dates, age."""
        invoke(
            "db_status",
            {"db_path": db_path, **(derived or {})},
            as_json=as_json,
            render=lambda out, r: render_db(out, r.status),
        )
