"""CycloneDX with the scan's vulnerabilities: syft's SBOM of the image plus a ``vulnerabilities`` array (CycloneDX
1.4+),
each finding with its ratings, the components it affects and, for one a VEX statement or an ignore rule set aside,
its analysis. What Trivy writes with ``--format cyclonedx``; a dependency-track or a VEX workflow reads it as it is."""

from __future__ import annotations

import json
from typing import Any

from containerkit.scan.models import ScanReport, VulnerabilityFinding

_SEVERITY = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "negligible": "info",
    "unknown": "unknown",
}
#: CycloneDX's own justifications; others (OpenVEX's) go into the detail
_JUSTIFICATIONS = {
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
}


def with_vulnerabilities(cyclonedx_json: str, report: ScanReport) -> str:
    """The SBOM with one vulnerability per advisory, affecting the components (by bom-ref) that have it."""
    bom: dict[str, Any] = json.loads(cyclonedx_json)
    refs: dict[tuple[str, str], str] = {}
    for component in bom.get("components") or []:
        if isinstance(component, dict) and component.get("bom-ref"):
            refs.setdefault((str(component.get("name")), str(component.get("version"))), str(component["bom-ref"]))
    by_id: dict[str, dict[str, Any]] = {}
    for finding in report.findings:
        entry = by_id.get(finding.id)
        if entry is None:
            entry = by_id[finding.id] = _vulnerability(finding)
        ref = refs.get((finding.package, finding.installed_version))
        if ref and all(a["ref"] != ref for a in entry["affects"]):
            entry["affects"].append(
                {"ref": ref, "versions": [{"version": finding.installed_version, "status": "affected"}]}
            )
    vulnerabilities = [v if v["affects"] else {k: x for k, x in v.items() if k != "affects"} for v in by_id.values()]
    bom["vulnerabilities"] = vulnerabilities
    return json.dumps(bom, indent=2)


def _vulnerability(f: VulnerabilityFinding) -> dict[str, Any]:
    rating: dict[str, Any] = {"severity": _SEVERITY[f.severity]}
    if f.cvss_score is not None:
        rating["score"] = f.cvss_score
    if f.cvss_vector:
        rating["vector"] = f.cvss_vector
        rating["method"] = (
            "CVSSv4"
            if f.cvss_vector.startswith("CVSS:4")
            else "CVSSv31"
            if f.cvss_vector.startswith("CVSS:3.1")
            else "CVSSv3"
        )
    out: dict[str, Any] = {
        "bom-ref": f"vuln:{f.id}",
        "id": f.id,
        "source": {
            "name": "OSV" if "builtin" in f.found_by else (f.found_by[0] if f.found_by else "scanner"),
            **({"url": f.url} if f.url else {}),
        },
        "references": [{"id": alias, "source": {"name": "alias"}} for alias in f.aliases],
        "ratings": [rating],
        "affects": [],
    }
    if f.summary:
        out["description"] = f.summary
    if f.fixed_versions:
        out["recommendation"] = f"Upgrade {f.package} to {', '.join(f.fixed_versions)} or later."
    if f.published:
        out["published"] = f.published
    if f.vex is not None and f.ignored:  # a VEX statement's status; an ignore rule is no statement about the product
        analysis: dict[str, Any] = {"state": "resolved" if f.vex == "fixed" else "not_affected", "detail": f.ignored}
        word = f.ignored.rsplit("(", 1)[-1].rstrip(")").split(" ")[0] if "(" in f.ignored else ""
        if word in _JUSTIFICATIONS:
            analysis["justification"] = word
        out["analysis"] = analysis
    elif f.ignored:
        out["analysis"] = {"detail": f"ignored: {f.ignored}"}
    return out
