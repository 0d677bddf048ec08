"""scan_image orchestration: pick scanners, run syft and the scanners, merge, remediate, report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from containerkit import _proc
from containerkit.errors import ScanError, ToolMissingError
from containerkit.scan import remediation as remedy
from containerkit.scan.backends import (
    BuiltinScanner,
    GrypeScanner,
    ScanInput,
    Scanner,
    ScannerOutput,
    TrivyScanner,
    now_iso,
)
from containerkit.scan.merge import merge
from containerkit.scan.models import ScannerRun, ScanReport, SeverityCounts, VulnerabilityFinding, severity_at_least
from containerkit.scan.osv import status as db_status
from containerkit.scan.report import summary_line, with_counts
from containerkit.scan.sbom import SyftOutput, read_sbom, run_syft
from containerkit.settings import Settings


@dataclass
class ScannerSet:
    """The external scanners found on this machine (tests provide fakes)."""

    external: dict[str, Scanner] = field(default_factory=dict)
    db_path: Path | None = None
    max_age_days: int = 7
    docker_host: str | None = None
    timeout: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ScannerSet:
        external: dict[str, Scanner] = {}
        for name, kind in (("trivy", TrivyScanner), ("grype", GrypeScanner)):
            binary = _proc.which(name)
            if binary:
                external[name] = kind(binary, settings.scan.timeout_s)
        return cls(
            external=external,
            db_path=default_db_path(settings),
            max_age_days=settings.scan.db_max_age_days,
            docker_host=settings.engine.docker_host,
            timeout=settings.scan.timeout_s,
        )

    def select(self, choice: str, db_path: Path | None) -> tuple[list[Scanner], list[str]]:
        """The scanners to run for ``choice`` (auto|trivy|grype|builtin) and warnings about skipped ones.

        Raises:
            ToolMissingError: trivy/grype was asked for but is not installed.
        """
        path = db_path or self.db_path or Path("osv")
        builtin = BuiltinScanner(path, self.max_age_days)
        if choice == "builtin":
            return [builtin], []
        if choice in ("trivy", "grype"):
            if choice not in self.external:
                raise ToolMissingError(
                    f"{choice} is not installed", hint=f"Install {choice} or use --scanner builtin/auto."
                )
            return [self.external[choice]], []
        chosen: list[Scanner] = list(self.external.values())
        warnings: list[str] = []
        if db_status(path, self.max_age_days).exists or not chosen:
            chosen.insert(0, builtin)
        else:
            warnings.append(f"built-in scanner skipped: no vulnerability database at {path} (run {{tool:db_update}})")
        return chosen, warnings


def default_db_path(settings: Settings) -> Path:
    return settings.scan.db_path or settings.home / "osv"


@dataclass(frozen=True)
class ScanOutcome:
    report: ScanReport
    syft: SyftOutput
    all_findings: list[VulnerabilityFinding]


async def scan(
    image: str,
    scanners: list[Scanner],
    workdir: Path,
    *,
    min_severity: str | None = None,
    repo: Path | None = None,
    manifests: list[str] | None = None,
    docker_host: str | None = None,
    timeout: float = 900.0,
    warnings: list[str] | None = None,
    sbom_in: Path | None = None,
) -> ScanOutcome:
    """Run syft once (SBOM for the built-in scanner and the CycloneDX output), then every scanner; merge.

    Raises:
        ScanError: syft or a scanner failed; SCAN_DB_MISSING when the built-in scanner has no database.
    """
    for scanner in scanners:
        if isinstance(scanner, BuiltinScanner):
            scanner.preflight()
    syft = (
        await read_sbom(sbom_in, workdir, timeout=timeout)
        if sbom_in is not None
        else await run_syft(image, workdir, docker_host=docker_host, timeout=timeout)
    )
    if sbom_in is not None and image == sbom_in.name:  # no image named: the one the SBOM describes
        image = syft.sbom.image
    request = ScanInput(image=image, workdir=workdir, syft=syft, docker_host=docker_host)
    outputs: list[ScannerOutput] = []
    for scanner in scanners:
        outputs.append(await scanner.scan(request))
    if not outputs:
        raise ScanError("no scanner ran", hint="Use --scanner builtin with a database, or install trivy or grype.")
    merged, agreement = merge({o.name: o.findings for o in outputs})
    shown = (
        merged
        if min_severity in (None, "unknown")
        else [f for f in merged if severity_at_least(f.severity, min_severity or "none")]
    )
    fixes = remedy.remediate(shown, repo, manifests)
    notes = [*(warnings or []), *(w for o in outputs for w in o.warnings)]
    db = next((o.db for o in outputs if o.db is not None), None)
    report = ScanReport(
        image=image,
        image_id=syft.sbom.image_id,
        scanned_at=now_iso(),
        scanners=[
            ScannerRun(name=o.name, version=o.version, findings=len(o.findings), duration_s=round(o.duration_s, 3))
            for o in outputs
        ],
        packages=len(syft.sbom.packages),
        total=len(shown),
        fixable=sum(1 for f in shown if f.fixable),
        counts=SeverityCounts(),
        findings=shown,
        agreement=agreement,
        remediation=fixes,
        summary=summary_line(image, shown, fixes),
        warnings=notes,
        db=db,
    )
    return ScanOutcome(report=with_counts(report), syft=syft, all_findings=merged)
