"""Merge the findings of several scanners: one finding per (vulnerability, installed package).

A vulnerability is identified by its id and every alias (a GHSA from one scanner and the CVE
from another are the same finding when either lists the other). The package is identified by
its type, normalized name and installed version.
"""

from __future__ import annotations

from containerkit.scan.models import SEVERITY_RANK, Agreement, Location, VulnerabilityFinding
from containerkit.scan.versions import normalize_name

#: Whose id/summary wins when several scanners report the same finding.
PRIORITY = ("builtin", "grype", "trivy")


def _package_key(f: VulnerabilityFinding) -> tuple[str, str, str]:
    return (f.package_type, normalize_name(f.ecosystem, f.package).lower(), f.installed_version)


def _ids(f: VulnerabilityFinding) -> set[str]:
    return {f.id.upper(), *(a.upper() for a in f.aliases)}


def _rank(f: VulnerabilityFinding) -> int:
    scanner = f.found_by[0] if f.found_by else ""
    return PRIORITY.index(scanner) if scanner in PRIORITY else len(PRIORITY)


def merge(
    findings_by_scanner: dict[str, list[VulnerabilityFinding]],
) -> tuple[list[VulnerabilityFinding], Agreement | None]:
    """Deduplicated findings (sorted by severity, then package) and the agreement between scanners."""
    by_package: dict[tuple[str, str, str], list[list[VulnerabilityFinding]]] = {}
    for findings in findings_by_scanner.values():
        for finding in findings:
            clusters = by_package.setdefault(_package_key(finding), [])
            _add(clusters, finding)
    merged = [_combine(c) for clusters in by_package.values() for c in clusters]
    merged.sort(key=lambda f: (-SEVERITY_RANK[f.severity], -(f.cvss_score or 0), f.package, f.id))
    scanners = sorted(findings_by_scanner)
    if len(scanners) < 2:
        return merged, None
    only = {s: sum(1 for f in merged if f.found_by == [s]) for s in scanners}
    return merged, Agreement(
        scanners=scanners,
        found_by_all=sum(1 for f in merged if set(f.found_by) >= set(scanners)),
        found_by_one=sum(1 for f in merged if len(f.found_by) == 1),
        only=only,
    )


def _add(clusters: list[list[VulnerabilityFinding]], finding: VulnerabilityFinding) -> None:
    ids = _ids(finding)
    joined = [c for c in clusters if any(ids & _ids(other) for other in c)]
    if not joined:
        clusters.append([finding])
        return
    target = joined[0]
    target.append(finding)
    for extra in joined[1:]:  # the new finding bridges clusters (A~B via alias C)
        target.extend(extra)
        clusters.remove(extra)


def _borrowed(finding: VulnerabilityFinding) -> bool:
    """The severity came from another record (the CVE's) than the finding's own advisory."""
    source = finding.severity_source or ""
    return bool(source) and not source.startswith(f"{finding.id} ") and source.split(" ", 1)[0] not in finding.found_by


def _combine(cluster: list[VulnerabilityFinding]) -> VulnerabilityFinding:
    cluster = sorted(cluster, key=_rank)
    primary = cluster[0]
    all_ids = set().union(*(_ids(f) for f in cluster))
    original_case = {i.upper(): i for f in cluster for i in (f.id, *f.aliases)}
    aliases = sorted(original_case[i] for i in all_ids if i != primary.id.upper())
    # a severity the advisory carries (or a scanner's distribution rating) beats one borrowed from the CVE's record:
    # Debian rates CVE-2022-0563 low where NVD's CVSS says medium, and Trivy reports Debian's
    known = [f for f in cluster if f.severity != "unknown"]
    own = [f for f in known if not _borrowed(f)]
    # else the scanners' own ratings (the highest when they differ), else the borrowed one
    rated = primary if primary in own or not known else max(own or known, key=lambda f: SEVERITY_RANK[f.severity])
    severity = rated.severity
    scored = next((f for f in cluster if f.cvss_score is not None), None)
    fixed = sorted({v for f in cluster for v in f.fixed_versions})
    locations: dict[tuple[str, str | None], Location] = {}
    for f in cluster:
        for loc in f.locations:
            locations.setdefault((loc.path, loc.layer), loc)
    return primary.model_copy(
        update={
            "aliases": aliases,
            "severity": severity,
            "severity_source": rated.severity_source
            or (f"{rated.found_by[0]}" if rated.found_by and rated.severity != "unknown" else None),
            "cvss_score": scored.cvss_score if scored else None,
            "cvss_vector": scored.cvss_vector if scored else None,
            "fixed_versions": fixed,
            "locations": list(locations.values()),
            "found_by": sorted({s for f in cluster for s in f.found_by}),
            "summary": next((f.summary for f in cluster if f.summary), None),
            "source_package": next((f.source_package for f in cluster if f.source_package), None),
        }
    )
