"""Assemble the report: counts, fixable, summary line, and the trend against the previous scan."""

from __future__ import annotations

from collections import Counter

from containerkit.scan.models import (
    SEVERITIES,
    Remediation,
    ScanReport,
    SeverityCounts,
    TrendDiff,
    VulnerabilityFinding,
)


def finding_key(f: VulnerabilityFinding) -> str:
    """Stable identity across scans: advisory id at package name (version-independent)."""
    return f"{f.id}@{f.package}"


def counts(findings: list[VulnerabilityFinding]) -> SeverityCounts:
    tally = Counter(f.severity for f in findings)
    return SeverityCounts(**{s: tally.get(s, 0) for s in SEVERITIES})


def summary_line(image: str, findings: list[VulnerabilityFinding], remediation: list[Remediation]) -> str:
    if not findings:
        return f"{image}: no known vulnerabilities in the scanned packages."
    c = counts(findings)
    parts = [f"{getattr(c, s)} {s}" for s in SEVERITIES if getattr(c, s)]
    fixable = sum(1 for f in findings if f.fixable)
    line = f"{image}: {len(findings)} vulnerabilities ({', '.join(parts)}), {fixable} fixable."
    lang = [r for r in remediation if r.kind == "language" and r.requirement]
    os_fix = [r for r in remediation if r.kind == "os"]
    actions = []
    if lang:
        actions.append(
            "set "
            + ", ".join(r.requirement or "" for r in lang[:4])
            + (f" and {len(lang) - 4} more" if len(lang) > 4 else "")
        )
    if os_fix:
        actions.append("upgrade OS packages " + ", ".join(p for r in os_fix for p in r.packages[:5]))
    if actions:
        line += " Next: " + "; ".join(actions) + "."
    unfixed = len(findings) - fixable
    if unfixed:
        line += f" {unfixed} have no published fix yet."
    return line


def trend(previous: dict[str, object] | None, findings: list[VulnerabilityFinding]) -> TrendDiff | None:
    """New/fixed/unchanged against the previous stored scan of the same image repository."""
    if not previous:
        return None
    keys = previous.get("keys")
    before = {str(k) for k in keys} if isinstance(keys, list) else set()
    now = {finding_key(f) for f in findings}
    return TrendDiff(
        previous_scan=str(previous.get("artifact_id", "")),
        previous_image=str(previous.get("image", "")),
        previous_at=str(previous.get("scanned_at", "")),
        new=sorted(now - before),
        fixed=sorted(before - now),
        unchanged=len(now & before),
    )


def image_repository(image: str) -> str:
    """'reg:5000/app:1.2@sha256:..' -> 'reg:5000/app' (the key trends are kept under)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def with_counts(report: ScanReport) -> ScanReport:
    return report.model_copy(
        update={
            "counts": counts(report.findings),
            "total": len(report.findings),
            "fixable": sum(1 for f in report.findings if f.fixable),
        }
    )
