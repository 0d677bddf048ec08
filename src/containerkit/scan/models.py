"""The scan documents: packages, findings, the report, policy, trends, database status, secrets.

Every model is frozen and forbids extra fields; these are the JSON the CLI prints with
``--json`` and the structured content MCP clients receive.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from containerkit.findings import Finding

Severity = Literal["critical", "high", "medium", "low", "negligible", "unknown"]
Threshold = Literal["none", "low", "medium", "high", "critical"]
SEVERITY_RANK: dict[str, int] = {"unknown": 0, "negligible": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "negligible", "unknown")


class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def severity_at_least(severity: str, threshold: str) -> bool:
    """True when ``severity`` reaches ``threshold`` ("none" is never reached)."""
    if threshold == "none":
        return False
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[threshold]


# --- inventory ---------------------------------------------------------------------


class Location(_M):
    path: str = Field(description="File inside the image that evidences the package.")
    layer: str | None = Field(None, description="Layer diff id (sha256:...) the file comes from.")


class Package(_M):
    name: str = Field(description="Package name as installed (binary package name for OS packages).")
    version: str = Field(description="Installed version.")
    type: str = Field(
        description="syft package type: deb, apk, python, npm, go-module, java-archive, gem, rust-crate, ..."
    )
    ecosystem: str | None = Field(
        None, description="OSV ecosystem (Debian:12, Alpine:v3.19, PyPI, npm, Go, Maven, RubyGems, crates.io)."
    )
    purl: str | None = None
    source_name: str | None = Field(None, description="OS source package (advisories name source packages).")
    source_version: str | None = Field(
        None, description="Source package version when it differs from the binary version."
    )
    locations: list[Location] = Field(default_factory=list)


class Sbom(_M):
    """What syft found in an image (parsed from its syft-json output)."""

    image: str
    image_id: str | None = None
    distro_id: str | None = Field(None, description="os-release ID: debian, alpine, ubuntu, ...")
    distro_version: str | None = Field(None, description="os-release VERSION_ID.")
    layers: list[str] = Field(default_factory=list, description="Layer diff ids, bottom first.")
    packages: list[Package]


# --- findings ------------------------------------------------------------------------


class VulnerabilityFinding(_M):
    id: str = Field(description="Advisory id (GHSA-..., CVE-..., DSA-..., DEBIAN-CVE-...).")
    aliases: list[str] = Field(
        default_factory=list, description="Other ids of the same vulnerability (CVE, PYSEC, GHSA...)."
    )
    related: list[str] = Field(
        default_factory=list,
        description="The vulnerabilities a distribution advisory fixes (an ALSA or RLSA lists its "
        "CVEs): an ignore file or VEX document that covers every one of them covers the advisory.",
    )
    summary: str | None = None
    package: str = Field(description="Installed package name.")
    source_package: str | None = Field(None, description="OS source package the advisory names, when different.")
    ecosystem: str = Field(description="OSV ecosystem or the package type when unknown.")
    package_type: str = Field(description="deb, python, npm, ...")
    installed_version: str
    fixed_versions: list[str] = Field(
        default_factory=list, description="Versions that fix it (empty: no fix published)."
    )
    severity: Severity = "unknown"
    cvss_score: float | None = Field(None, description="CVSS v3 base score when a vector or score is known.")
    cvss_vector: str | None = None
    severity_source: str | None = Field(
        None,
        description='Where the severity came from: the record and what in it ("DEBIAN-CVE-2022-0563 (no '
        'severity)", "CVE-2022-0563 (CVSS v3)" when a distribution\'s record has none and the CVE\'s record does, '
        '"UBUNTU-CVE-… (Ubuntu priority)"), or the scanner that rated it.',
    )
    locations: list[Location] = Field(default_factory=list)
    found_by: list[str] = Field(default_factory=list, description="Scanners that reported this finding.")
    url: str | None = None
    published: str | None = Field(
        None, description="When the advisory was published (ISO 8601), for policies on its age."
    )
    vex: Literal["not_affected", "fixed"] | None = Field(
        None, description="The status a VEX statement gave it (then ignored says which document and why)."
    )
    ignored: str | None = Field(
        None,
        description="Why the finding is ignored (an ignore-file entry and its reason, or "
        "--ignore-unfixed): it stays in the report and no longer counts for the gate.",
    )

    @property
    def fixable(self) -> bool:
        return bool(self.fixed_versions)


class ScannerRun(_M):
    name: str = Field(description="trivy, grype or builtin.")
    version: str | None = None
    findings: int = Field(description="Findings this scanner reported before merging.")
    duration_s: float


class Agreement(_M):
    scanners: list[str]
    found_by_all: int = Field(description="Merged findings every scanner reported.")
    found_by_one: int = Field(description="Merged findings exactly one scanner reported.")
    only: dict[str, int] = Field(default_factory=dict, description="Per scanner: findings only it reported.")


class SeverityCounts(_M):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    negligible: int = 0
    unknown: int = 0


class Remediation(_M):
    kind: Literal["os", "language"]
    ecosystem: str
    packages: list[str] = Field(description="Packages this action fixes.")
    finding_ids: list[str]
    action: str = Field(description="What to do, concretely.")
    manifest: str | None = Field(None, description="Manifest or lockfile to edit (language packages).")
    line: int | None = Field(None, description="1-based line in the manifest that pins the package.")
    requirement: str | None = Field(None, description="The minimum requirement to set, e.g. 'requests>=2.31.0'.")
    edit: str | None = Field(
        None,
        description="The manifest line as it should read (its quotes, trailing comma, extras and "
        "environment marker kept), when line is known.",
    )


class TrendDiff(_M):
    previous_scan: str = Field(description="Artifact id of the previous report for this image repository.")
    previous_image: str
    previous_at: str
    new: list[str] = Field(description="VulnerabilityFinding keys (id@package) not in the previous scan.")
    fixed: list[str] = Field(description="VulnerabilityFinding keys of the previous scan that are gone.")
    unchanged: int


class AllowEntry(_M):
    id: str = Field(description="Vulnerability id or alias to allow.")
    package: str | None = Field(None, description="Only for this package (any package when omitted).")
    expires: str = Field(description="ISO date after which the entry no longer applies.")
    reason: str


class PolicyViolation(_M):
    id: str
    package: str
    installed_version: str
    severity: Severity
    fixed_versions: list[str]


class PolicyResult(_M):
    fail_on: Threshold
    passed: bool
    fail_on_unknown: bool = Field(
        False, description="Findings of unknown severity count for the gate (when fail_on is not none)."
    )
    unknown_not_gated: int = Field(
        0, description="Findings of unknown severity the gate let pass because fail_on_unknown was off."
    )
    violations: list[PolicyViolation] = Field(default_factory=list)
    allowed: list[str] = Field(
        default_factory=list, description="VulnerabilityFinding keys an active allow-list entry excused."
    )
    expired_entries: list[AllowEntry] = Field(
        default_factory=list, description="Allow-list entries past their expiry (not applied)."
    )
    stale_db: str | None = Field(
        None, description="Set when max_db_age failed the gate: how old the database is against the limit."
    )
    rules: list[Finding] = Field(
        default_factory=list,
        description="What the user's Rego policies (policy) say about the "
        "report: a deny or violation fails the gate like a finding above fail_on.",
    )


class DbEcosystem(_M):
    ecosystem: str
    records: int
    updated_at: str | None = Field(None, description="When this ecosystem was downloaded (ISO 8601).")
    source: str | None = None


class DbStatus(_M):
    path: str
    exists: bool
    ecosystems: list[DbEcosystem] = Field(default_factory=list)
    oldest_update: str | None = None
    age_days: float | None = Field(None, description="Age of the oldest ecosystem download.")
    max_age_days: int


class ScanReport(_M):
    image: str
    image_id: str | None = None
    scanned_at: str
    scanners: list[ScannerRun]
    packages: int = Field(description="Packages in the SBOM (0 when only external scanners ran).")
    total: int
    fixable: int = Field(description="Findings with a published fixed version.")
    counts: SeverityCounts
    findings: list[VulnerabilityFinding]
    agreement: Agreement | None = Field(None, description="How the scanners agreed (when more than one ran).")
    remediation: list[Remediation] = Field(default_factory=list)
    summary: str = Field(description="One line to act on.")
    warnings: list[str] = Field(default_factory=list)
    trend: TrendDiff | None = None
    policy: PolicyResult | None = None
    db: DbStatus | None = None


# --- secrets -------------------------------------------------------------------------


class SecretFinding(_M):
    rule: str = Field(description="Which rule matched: private-key, aws-access-key-id, github-token, ...")
    description: str
    file: str = Field(description="Path relative to the build context, or absolute inside the image.")
    line: int
    masked: str = Field(description="The match with everything after its first 4 characters masked.")
    layer: str | None = Field(None, description="Layer diff id (image scans).")
    layer_index: int | None = Field(None, description="0-based layer position, bottom first (image scans).")
    created_by: str | None = Field(None, description="The build step that created the layer, when known.")
    deleted_in_later_layer: bool = Field(
        False,
        description="The file is removed by a later layer but still shipped in this layer: anyone with the image can "
        "read it.",
    )
    in_build_context: bool | None = Field(
        None, description="Context scans: the file would be sent to the build (.dockerignore)."
    )


class SecretScanReport(_M):
    target: str
    kind: Literal["context", "image"]
    files_scanned: int
    findings: list[SecretFinding]
    dockerignore: bool = Field(False, description="A .dockerignore was found and applied (context scans).")
    summary: str
    warnings: list[str] = Field(
        default_factory=list,
        description="What would let secrets in (context scans: a .dockerignore that does not exclude .env files).",
    )
