"""Scanner backends behind one Protocol: Trivy, Grype (when installed) and the built-in OSV scanner.

Trivy and Grype run with JSON output through ``_proc.run``; their reports are parsed into
:class:`VulnerabilityFinding` here. "Vulnerabilities found" is never a failure of the scanner itself.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from containerkit import _proc
from containerkit.errors import CommandFailedError, ScanDetails, ScanError
from containerkit.scan import cvss, osv
from containerkit.scan.models import DbStatus, Location, Severity, VulnerabilityFinding
from containerkit.scan.sbom import SyftOutput, ecosystem_for


@dataclass(frozen=True)
class ScanInput:
    image: str
    workdir: Path
    syft: SyftOutput | None = None
    docker_host: str | None = None


@dataclass(frozen=True)
class ScannerOutput:
    name: str
    findings: list[VulnerabilityFinding]
    duration_s: float
    version: str | None = None
    warnings: list[str] = field(default_factory=list)
    db: DbStatus | None = None


class Scanner(Protocol):
    """One vulnerability scanner. ``needs_sbom``: it matches syft's inventory instead of reading the image."""

    name: str
    needs_sbom: bool

    async def scan(self, request: ScanInput) -> ScannerOutput: ...


# --- built-in ------------------------------------------------------------------------------


class BuiltinScanner:
    """Matches syft's inventory against a local OSV database; no network at scan time."""

    name = "builtin"
    needs_sbom = True

    def __init__(self, db_path: Path, max_age_days: int) -> None:
        self.db_path = db_path
        self.max_age_days = max_age_days

    async def scan(self, request: ScanInput) -> ScannerOutput:
        """Raises: ScanError SCAN_DB_MISSING when there is no database (never reports zero findings instead)."""
        import anyio

        if request.syft is None:
            raise ScanError("the built-in scanner needs an SBOM", code="SCAN_SBOM_FAILED")
        started = time.monotonic()
        db_status = self.preflight()
        sbom = request.syft.sbom
        db = await anyio.to_thread.run_sync(osv.OsvDatabase.load, self.db_path, osv.lookup_keys(sbom))
        findings = osv.match(db, sbom)
        return ScannerOutput(
            name=self.name,
            findings=findings,
            duration_s=time.monotonic() - started,
            version="osv",
            warnings=[*db_warnings(db_status), *db.warnings(), *osv.coverage_warnings(db, sbom)],
            db=db_status,
        )

    def preflight(self) -> DbStatus:
        """Check the database exists before any slow work.

        Raises:
            ScanError: SCAN_DB_MISSING.
        """
        db_status = osv.status(self.db_path, self.max_age_days)
        if not db_status.exists:
            raise ScanError(
                f"no vulnerability database at {self.db_path}: the built-in scanner cannot tell whether the image is "
                "vulnerable",
                code="SCAN_DB_MISSING",
                hint="Run {tool:db_update} (needs network) or pass --db PATH with an OSV directory or zip.",
                details={"db_path": str(self.db_path)},
            )
        return db_status


def db_warnings(status: DbStatus) -> list[str]:
    if status.age_days is None:
        return [
            f"the vulnerability database at {status.path} has no download date; results may be stale "
            "(run {tool:db_update})"
        ]
    if status.age_days > status.max_age_days:
        return [
            f"the vulnerability database is {status.age_days:.0f} days old (limit {status.max_age_days}); "
            "run {tool:db_update} for current advisories"
        ]
    return []


# --- external scanners -----------------------------------------------------------------------


class TrivyScanner:
    name = "trivy"
    needs_sbom = False

    def __init__(self, binary: str, timeout: float = 900.0) -> None:
        self.binary, self.timeout = binary, timeout

    async def scan(self, request: ScanInput) -> ScannerOutput:
        env = {"DOCKER_HOST": request.docker_host} if request.docker_host else None
        argv = [self.binary, "image", "--format", "json", "--quiet", "--scanners", "vuln", request.image]
        result = await _run_scanner(self.name, argv, env, self.timeout, ok_codes=(0,))
        return ScannerOutput(name=self.name, findings=parse_trivy(result[0]), duration_s=result[1])


class GrypeScanner:
    name = "grype"
    needs_sbom = False

    def __init__(self, binary: str, timeout: float = 900.0) -> None:
        self.binary, self.timeout = binary, timeout

    async def scan(self, request: ScanInput) -> ScannerOutput:
        env = {"DOCKER_HOST": request.docker_host} if request.docker_host else None
        argv = [self.binary, f"docker:{request.image}", "-o", "json", "-q"]
        # grype exits 1 only with --fail-on; 0 and 1 both carry a complete report.
        result = await _run_scanner(self.name, argv, env, self.timeout, ok_codes=(0, 1))
        return ScannerOutput(name=self.name, findings=parse_grype(result[0]), duration_s=result[1])


async def _run_scanner(
    name: str, argv: list[str], env: dict[str, str] | None, timeout: float, ok_codes: tuple[int, ...]
) -> tuple[str, float]:
    try:
        proc = await _proc.run(argv, env=env, timeout=timeout, ok_codes=ok_codes)
    except CommandFailedError as e:
        raise ScanError(
            f"{name} failed: {str(e.details.get('tail', ''))[-300:]}",
            code="SCAN_FAILED",
            hint=f"Run {name} by hand to see why, or use --scanner builtin.",
            details=ScanDetails(tail=str(e.typed_details.get("tail", ""))[-2000:]),
        ) from e
    return proc.stdout, proc.duration_s


_TRIVY_TYPES = {
    "debian": "deb",
    "ubuntu": "deb",
    "alpine": "apk",
    "wolfi": "apk",
    "chainguard": "apk",
    "alma": "rpm",
    "rocky": "rpm",
    "opensuse-leap": "rpm",
    "opensuse.leap": "rpm",
    "python-pkg": "python",
    "pip": "python",
    "pipenv": "python",
    "poetry": "python",
    "node-pkg": "npm",
    "npm": "npm",
    "yarn": "npm",
    "gobinary": "go-module",
    "gomod": "go-module",
    "jar": "java-archive",
    "pom": "java-archive",
    "gemspec": "gem",
    "bundler": "gem",
    "cargo": "rust-crate",
    "rustbinary": "rust-crate",
}


def parse_trivy(text: str) -> list[VulnerabilityFinding]:
    """Findings from ``trivy image --format json`` (schema version 2).

    Raises:
        ScanError: not a Trivy JSON report (code SCAN_REPORT_INVALID).
    """
    doc = _load(text, "trivy")
    os_info = (doc.get("Metadata") or {}).get("OS") or {}
    distro_id, distro_version = os_info.get("Family"), os_info.get("Name")
    findings: list[VulnerabilityFinding] = []
    for result in doc.get("Results") or []:
        ptype = _TRIVY_TYPES.get(str(result.get("Type", "")), str(result.get("Type", "")))
        for v in result.get("Vulnerabilities") or []:
            purl = (v.get("PkgIdentifier") or {}).get("PURL")
            ecosystem, _ = ecosystem_for(ptype, purl, v["PkgName"], distro_id, distro_version)
            score, vector = _trivy_cvss(v)
            fixed = [f.strip() for f in str(v.get("FixedVersion") or "").split(",") if f.strip()]
            layer = (v.get("Layer") or {}).get("DiffID")
            path = v.get("PkgPath")
            findings.append(
                VulnerabilityFinding(
                    id=v["VulnerabilityID"],
                    aliases=sorted(set(v.get("VendorIDs") or [])),
                    summary=v.get("Title"),
                    package=v["PkgName"],
                    source_package=v.get("SrcName") if v.get("SrcName") not in (None, v["PkgName"]) else None,
                    ecosystem=ecosystem or ptype,
                    package_type=ptype,
                    installed_version=v["InstalledVersion"],
                    fixed_versions=fixed,
                    severity=cvss.severity_word(v.get("Severity")),
                    cvss_score=score,
                    cvss_vector=vector,
                    locations=[Location(path="/" + path.lstrip("/") if path else "", layer=layer)]
                    if (path or layer)
                    else [],
                    found_by=["trivy"],
                    url=v.get("PrimaryURL"),
                )
            )
    return findings


def _trivy_cvss(v: dict[str, Any]) -> tuple[float | None, str | None]:
    entries = v.get("CVSS") or {}
    order = [v.get("SeveritySource"), "nvd", "ghsa", *entries.keys()]
    for source in order:
        entry = entries.get(source) if source else None
        if entry and entry.get("V3Score") is not None:
            return float(entry["V3Score"]), entry.get("V3Vector")
    return None, None


def parse_grype(text: str) -> list[VulnerabilityFinding]:
    """Findings from ``grype -o json``.

    Raises:
        ScanError: not a Grype JSON report (code SCAN_REPORT_INVALID).
    """
    doc = _load(text, "grype")
    distro = doc.get("distro") or {}
    findings: list[VulnerabilityFinding] = []
    for m in doc.get("matches") or []:
        vuln, art = m["vulnerability"], m["artifact"]
        ecosystem, _ = ecosystem_for(
            art.get("type", ""), art.get("purl"), art["name"], distro.get("name"), distro.get("version")
        )
        upstreams = [u.get("name") for u in art.get("upstreams") or [] if u.get("name")]
        score, vector = _grype_cvss(vuln)
        fix = vuln.get("fix") or {}
        severity: Severity = cvss.severity_word(vuln.get("severity"))
        findings.append(
            VulnerabilityFinding(
                id=vuln["id"],
                aliases=sorted({r["id"] for r in m.get("relatedVulnerabilities") or [] if r.get("id") != vuln["id"]}),
                summary=(vuln.get("description") or "").strip().splitlines()[0][:200] or None
                if vuln.get("description")
                else None,
                package=art["name"],
                source_package=upstreams[0] if upstreams else None,
                ecosystem=ecosystem or art.get("type", ""),
                package_type=art.get("type", ""),
                installed_version=art["version"],
                fixed_versions=list(fix.get("versions") or []) if fix.get("state") == "fixed" else [],
                severity=severity,
                cvss_score=score,
                cvss_vector=vector,
                locations=[
                    Location(path=loc.get("path", ""), layer=loc.get("layerID")) for loc in art.get("locations") or []
                ],
                found_by=["grype"],
                url=vuln.get("dataSource"),
            )
        )
    return findings


def _grype_cvss(vuln: dict[str, Any]) -> tuple[float | None, str | None]:
    for entry in vuln.get("cvss") or []:
        if str(entry.get("version", "")).startswith("3"):
            score = (entry.get("metrics") or {}).get("baseScore")
            return (float(score) if score is not None else cvss.base_score(entry.get("vector", ""))), entry.get(
                "vector"
            )
    return None, None


def _load(text: str, scanner: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ScanError(f"{scanner} did not print JSON: {e}", code="SCAN_REPORT_INVALID") from e
    if not isinstance(doc, dict):
        raise ScanError(f"{scanner} printed an unexpected document", code="SCAN_REPORT_INVALID")
    return doc


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
