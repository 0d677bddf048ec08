"""VEX documents (OpenVEX, CycloneDX VEX) set findings aside with their status and justification."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerkit.errors import InvalidInputError
from containerkit.scan import vex
from containerkit.scan.models import VulnerabilityFinding

OPENVEX = {
    "@context": "https://openvex.dev/ns/v0.2.0",
    "@id": "https://example.com/vex/app-1",
    "author": "Security Team",
    "timestamp": "2026-11-30T10:00:00Z",
    "version": 1,
    "statements": [
        {
            "vulnerability": {"name": "CVE-2023-32681"},
            "products": [
                {"@id": "pkg:oci/app@sha256:" + "a" * 64, "subcomponents": [{"@id": "pkg:pypi/requests@2.25.0"}]}
            ],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
            "impact_statement": "the app never follows redirects with a proxy",
        },
        {"vulnerability": {"name": "CVE-2024-3651"}, "products": [{"@id": "pkg:pypi/idna"}], "status": "fixed"},
        {
            "vulnerability": {"name": "CVE-2021-33503"},
            "products": [{"@id": "pkg:pypi/urllib3"}],
            "status": "affected",
            "action_statement": "upgrade",
        },
        {
            "vulnerability": {"name": "CVE-2023-43804"},
            "products": [{"@id": "pkg:npm/urllib3"}],
            "status": "not_affected",
            "justification": "component_not_present",
        },
    ],
}
CYCLONEDX = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "version": 1,
    "vulnerabilities": [
        {
            "id": "CVE-2023-32681",
            "affects": [{"ref": "pkg:pypi/requests@2.25.0"}],
            "analysis": {"state": "false_positive", "justification": "code_not_reachable", "detail": "no proxies"},
        },
        {"id": "GHSA-jjg7-2v4v-x38h", "affects": [{"ref": "pkg:pypi/idna@9.9"}], "analysis": {"state": "not_affected"}},
        {"id": "CVE-2021-33503", "analysis": {"state": "in_triage"}},
    ],
}


def finding(vuln_id: str, package: str, version: str, *aliases: str) -> VulnerabilityFinding:
    return VulnerabilityFinding(
        id=vuln_id,
        aliases=list(aliases),
        package=package,
        ecosystem="PyPI",
        package_type="python",
        installed_version=version,
        fixed_versions=["9"],
        severity="medium",
    )


FINDINGS = [
    finding("GHSA-j8r2-6x86-q33q", "requests", "2.25.0", "CVE-2023-32681"),
    finding("GHSA-jjg7-2v4v-x38h", "idna", "2.10", "CVE-2024-3651"),
    finding("GHSA-q2q7-5pp4-w6pg", "urllib3", "1.26.4", "CVE-2021-33503"),
    finding("GHSA-v845-jxx5-vc9f", "urllib3", "1.26.4", "CVE-2023-43804"),
]


def test_openvex_not_affected_and_fixed_set_findings_aside_with_the_justification(tmp_path: Path) -> None:
    (tmp_path / "app.openvex.json").write_text(json.dumps(OPENVEX))
    out = {f.id: f for f in vex.apply(FINDINGS, vex.load(tmp_path / "app.openvex.json"))}
    requests = out["GHSA-j8r2-6x86-q33q"]
    assert requests.vex == "not_affected"
    assert requests.ignored == "VEX app.openvex.json: not_affected (vulnerable_code_not_in_execute_path)"
    assert (out["GHSA-jjg7-2v4v-x38h"].vex, out["GHSA-jjg7-2v4v-x38h"].ignored) == (
        "fixed",
        "VEX app.openvex.json: fixed",
    )
    assert out["GHSA-q2q7-5pp4-w6pg"].ignored is None  # affected: still counts
    assert out["GHSA-v845-jxx5-vc9f"].ignored is None  # about an npm package of that name, not this one


def test_cyclonedx_vex_states_map_to_not_affected_and_fixed(tmp_path: Path) -> None:
    (tmp_path / "bom.vex.json").write_text(json.dumps(CYCLONEDX))
    out = {f.id: f for f in vex.apply(FINDINGS, vex.load(tmp_path / "bom.vex.json"))}
    assert out["GHSA-j8r2-6x86-q33q"].ignored == "VEX bom.vex.json: not_affected (code_not_reachable — no proxies)"
    assert out["GHSA-jjg7-2v4v-x38h"].ignored is None  # the statement is about idna 9.9, not the 2.10 installed
    assert out["GHSA-q2q7-5pp4-w6pg"].ignored is None  # in_triage changes nothing


def test_a_document_in_neither_format_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(InvalidInputError, match="neither OpenVEX"):
        vex.load(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match="is not JSON"):
        vex.load(tmp_path / "y.json")
