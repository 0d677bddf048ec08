"""SARIF 2.1.0 output for code-scanning UIs (one rule per advisory, one result per finding)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from containerkit import __version__
from containerkit.scan.models import ScanReport, VulnerabilityFinding

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "negligible": "note",
    "unknown": "note",
}
_SCORE = {"critical": 9.5, "high": 8.0, "medium": 5.5, "low": 2.0, "negligible": 0.5, "unknown": 0.0}


def to_sarif(report: ScanReport, dockerfile: str | None = None) -> dict[str, Any]:
    """SARIF 2.1.0 of a scan. A finding without a file of its own points at ``dockerfile`` (the repository-relative
    Dockerfile that built the image, which a code-scanning UI can show), else at the image name as a valid relative
    URI (``127.0.0.1:5001/app:1`` is no URI: its ``:`` is escaped)."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for finding in report.findings:
        if finding.id not in index:
            index[finding.id] = len(rules)
            rules.append(_rule(finding))
        results.append(_result(finding, index[finding.id], report.image, dockerfile))
    for hit in report.policy.rules if report.policy else []:  # the user's Rego policies, as results of their own rules
        if hit.rule not in index:
            index[hit.rule] = len(rules)
            rules.append(
                {
                    "id": hit.rule,
                    "name": hit.rule.replace(".", "_"),
                    "shortDescription": {"text": f"policy {hit.policy}"},
                    "defaultConfiguration": {"level": hit.severity},
                    "properties": {"tags": ["policy"]},
                }
            )
        results.append(
            {
                "ruleId": hit.rule,
                "ruleIndex": index[hit.rule],
                "level": hit.severity,
                "message": {"text": f"{hit.message} (policy {hit.policy}). Image: {report.image}."},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": quote((dockerfile or report.image).lstrip("/"), safe="/@+~")},
                            "region": {"startLine": 1},
                        }
                    }
                ],
                "partialFingerprints": {"policyRule": f"{hit.rule}/{hit.message}"},
            }
        )
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "containerkit",
                        "version": __version__,
                        "informationUri": "https://github.com/containerkit",
                        "rules": rules,
                    }
                },
                "results": results,
                "properties": {
                    "image": report.image,
                    "imageId": report.image_id or "",
                    "scanners": [s.name for s in report.scanners],
                },
            }
        ],
    }


def _rule(f: VulnerabilityFinding) -> dict[str, Any]:
    score = f.cvss_score if f.cvss_score is not None else _SCORE[f.severity]
    text = f.summary or f"{f.id} in {f.package}"
    rule: dict[str, Any] = {
        "id": f.id,
        "name": f.id.replace("-", ""),
        "shortDescription": {"text": text[:1000]},
        "fullDescription": {"text": f"{text}. Aliases: {', '.join(f.aliases) or 'none'}."},
        "defaultConfiguration": {"level": _LEVEL[f.severity]},
        "help": {
            "text": f"Upgrade {f.package} to {', '.join(f.fixed_versions) or 'a fixed version when one is published'}.",
            "markdown": f"**{f.id}** in `{f.package}`: fixed in {', '.join(f.fixed_versions) or 'no release yet'}.",
        },
        "properties": {"security-severity": f"{score:.1f}", "tags": ["security", "vulnerability", f.severity]},
    }
    if f.url:
        rule["helpUri"] = f.url
    return rule


def _result(f: VulnerabilityFinding, rule_index: int, image: str, dockerfile: str | None) -> dict[str, Any]:
    path = next((loc.path for loc in f.locations if loc.path), "") or dockerfile or image
    fixed = ", ".join(f.fixed_versions) or "no fix published"
    return {
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {
            "text": f"{f.package} {f.installed_version} is affected by {f.id} ({f.severity}); fixed: {fixed}. "
            f"Image: {image}."
        },
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": quote(path.lstrip("/"), safe="/@+~")},
                    "region": {"startLine": 1},
                }
            }
        ],
        "partialFingerprints": {"packageVulnerability": f"{f.id}/{f.package}/{f.installed_version}"},
        "properties": {"foundBy": f.found_by, "fixable": f.fixable},
    }
