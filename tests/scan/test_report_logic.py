"""Merging scanners, remediation text, the policy gate, trends, and parsing captured Trivy/Grype reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from containerkit.errors import InvalidInputError
from containerkit.scan import osv
from containerkit.scan.backends import parse_grype, parse_trivy
from containerkit.scan.merge import merge
from containerkit.scan.models import AllowEntry, VulnerabilityFinding
from containerkit.scan.osv import OsvDatabase
from containerkit.scan.policy import evaluate, load_allow_list
from containerkit.scan.remediation import edited_line, minimum_fix, remediate
from containerkit.scan.report import image_repository, trend
from tests.scan.helpers import OSV_DIR, REPORTS, pkg, sbom


def _trivy() -> list[VulnerabilityFinding]:
    return parse_trivy((REPORTS / "trivy-ck-scan-test.json").read_text())


def _grype() -> list[VulnerabilityFinding]:
    return parse_grype((REPORTS / "grype-ck-scan-test.json").read_text())


def _builtin() -> list[VulnerabilityFinding]:
    inventory = sbom(
        pkg("requests", "2.25.0", "PyPI", "python"),
        pkg("urllib3", "1.26.4", "PyPI", "python"),
        pkg("idna", "2.10", "PyPI", "python"),
        pkg("apt", "2.6.2", "Debian:12", "deb"),
        pkg("libapt-pkg6.0", "2.6.2", "Debian:12", "deb", source="apt"),
        pkg("coreutils", "9.1-1", "Debian:12", "deb"),
    )
    return osv.match(OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory)), inventory)


def test_trivy_report_is_parsed_into_findings() -> None:
    findings = {(f.id, f.package): f for f in _trivy()}
    assert len(findings) == 17
    req = findings[("CVE-2023-32681", "requests")]
    assert req.aliases == ["GHSA-j8r2-6x86-q33q"] and req.ecosystem == "PyPI" and req.package_type == "python"
    assert (req.severity, req.cvss_score, req.fixed_versions) == ("medium", 6.1, ["2.31.0"])
    assert req.locations[0].path.endswith("requests-2.25.0.dist-info/METADATA") and req.locations[0].layer.startswith(
        "sha256:"
    )
    bsd = findings[("CVE-2022-0563", "bsdutils")]
    assert (bsd.ecosystem, bsd.source_package, bsd.fixed_versions, bsd.severity) == (
        "Debian:12",
        "util-linux",
        [],
        "low",
    )
    assert findings[("CVE-2023-43804", "urllib3")].fixed_versions == ["1.26.17", "2.0.6"]


def test_grype_report_is_parsed_into_findings() -> None:
    findings = {(f.id, f.package): f for f in _grype()}
    assert len(findings) == 15
    req = findings[("GHSA-j8r2-6x86-q33q", "requests")]
    assert req.aliases == ["CVE-2023-32681"] and req.fixed_versions == ["2.31.0"] and req.cvss_score == 6.1
    apt = findings[("CVE-2011-3374", "libapt-pkg6.0")]
    assert (apt.source_package, apt.fixed_versions, apt.severity, apt.ecosystem) == (
        "apt",
        [],
        "negligible",
        "Debian:12",
    )


def test_merge_deduplicates_on_ids_and_aliases_and_reports_agreement() -> None:
    merged, agreement = merge({"builtin": _builtin(), "trivy": _trivy(), "grype": _grype()})
    by_key = {(f.id, f.package): f for f in merged}
    # the builtin GHSA id, Trivy's CVE id and Grype's GHSA id are one finding
    req = by_key[("GHSA-j8r2-6x86-q33q", "requests")]
    assert (
        req.found_by == ["builtin", "grype", "trivy"]
        and "CVE-2023-32681" in req.aliases
        and "PYSEC-2023-74" in req.aliases
    )
    # DEBIAN-CVE-2011-3374 (builtin) and CVE-2011-3374 (trivy, grype) are one finding per binary package
    assert by_key[("DEBIAN-CVE-2011-3374", "libapt-pkg6.0")].found_by == ["builtin", "grype", "trivy"]
    assert by_key[("GHSA-9hjg-9r4m-mvj7", "requests")].found_by == ["builtin"]  # only the built-in database has it
    assert by_key[("CVE-2016-2781", "coreutils")].found_by == ["trivy"]
    assert by_key[("CVE-2023-5752", "pip")].found_by == ["trivy"]
    assert len(merged) == len(set(by_key))
    assert agreement is not None and agreement.scanners == ["builtin", "grype", "trivy"]
    assert agreement.found_by_one == sum(1 for f in merged if len(f.found_by) == 1)
    assert agreement.only["builtin"] == 1 and agreement.only["trivy"] >= 2
    assert agreement.found_by_all == sum(1 for f in merged if len(f.found_by) == 3) > 0


def test_minimum_fix_takes_the_highest_nearest_fix() -> None:
    inventory = sbom(pkg("urllib3", "1.26.4", "PyPI", "python"))
    findings = osv.match(OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory)), inventory)
    assert minimum_fix("PyPI", "1.26.4", findings) == "1.26.19"  # not 2.2.2: the 1.26 line has fixes for every advisory


def test_language_remediation_points_at_the_pinning_manifest_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask==3.0.0\nRequests[socks]==2.25.0 ; python_version >= '3.8'\n")
    merged, _ = merge({"builtin": _builtin()})
    fixes = {r.packages[0]: r for r in remediate(merged, tmp_path) if r.kind == "language"}
    req = fixes["requests"]
    assert (req.manifest, req.line, req.requirement) == ("requirements.txt", 2, "requests>=2.32.4")
    assert req.action.startswith("requirements.txt:2: change `Requests[socks]==2.25.0")
    assert (
        fixes["urllib3"].line is None
        and "transitive" in fixes["urllib3"].action
        and "urllib3>=1.26.19" in fixes["urllib3"].action
    )


def test_language_remediation_without_a_repository_names_the_requirement() -> None:
    merged, _ = merge({"builtin": _builtin()})
    [idna] = [r for r in remediate(merged) if r.packages == ["idna"]]
    assert (
        idna.action == "upgrade idna from 2.10 to 3.7 or later: set `idna>=3.7` in the dependency manifest or lockfile."
    )


def test_os_remediation_names_packages_fixed_versions_and_the_apt_command() -> None:
    inventory = sbom(
        pkg("libc6", "2.36-9+deb12u1", "Debian:12", "deb", source="glibc"),
        pkg("libc-bin", "2.36-9+deb12u1", "Debian:12", "deb", source="glibc"),
        pkg("apt", "2.6.1", "Debian:12", "deb"),
    )
    merged, _ = merge({"builtin": osv.match(OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory)), inventory)})
    [fix] = remediate(merged)
    assert fix.kind == "os" and fix.packages == ["libc-bin", "libc6"] and fix.finding_ids == ["DSA-5514-1"]
    assert fix.action == (
        "packages libc-bin, libc6 have fixes in Debian 12: libc-bin (2.36-9+deb12u3), libc6 (2.36-9+deb12u3). Rebuild "
        "with a "
        "refreshed base image (pull the base tag again; which future tag carries the fixes is not known here) or add "
        "`RUN apt-get update && apt-get install -y --only-upgrade libc-bin libc6 && rm -rf /var/lib/apt/lists/*`."
    )


def test_policy_gate_applies_active_allow_entries_and_reports_expired_ones(tmp_path: Path) -> None:
    merged, _ = merge({"builtin": _builtin()})
    allow = tmp_path / "allow.yaml"
    allow.write_text(
        "allow:\n"
        "  - id: CVE-2021-33503\n    package: urllib3\n    expires: 2099-01-01\n    reason: not reachable, no user "
        "URLs\n"
        "  - id: GHSA-jjg7-2v4v-x38h\n    expires: 2020-01-01\n    reason: expired acceptance\n"
    )
    entries = load_allow_list(allow)
    result = evaluate(merged, "medium", entries, today=dt.date(2026, 1, 1))
    assert not result.passed
    assert result.allowed == ["GHSA-q2q7-5pp4-w6pg@urllib3"]  # matched through its CVE alias
    assert [e.id for e in result.expired_entries] == ["GHSA-jjg7-2v4v-x38h"]
    assert "GHSA-jjg7-2v4v-x38h" in {v.id for v in result.violations}  # the expired entry did not apply
    assert all(v.severity in ("medium", "high", "critical") for v in result.violations)
    assert evaluate(merged, "critical", entries).passed and evaluate(merged, "none", []).passed


def test_allow_list_entries_need_expiry_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "allow.yaml"
    bad.write_text("allow:\n  - id: CVE-1\n    reason: forever\n")
    with pytest.raises(InvalidInputError) as err:
        load_allow_list(bad)
    assert "expires" in err.value.message
    bad.write_text("allow:\n  - id: CVE-1\n    expires: someday\n    reason: x\n")
    with pytest.raises(InvalidInputError, match="not a date"):
        load_allow_list(bad)


def test_allow_entry_restricted_to_a_package_does_not_excuse_others() -> None:
    merged, _ = merge({"builtin": _builtin()})
    entry = AllowEntry(id="DEBIAN-CVE-2011-3374", package="apt", expires="2099-01-01", reason="x")
    result = evaluate(merged, "low", [entry])
    assert result.allowed == []  # unknown-severity Debian CVEs don't reach "low": nothing to excuse
    assert {v.package for v in result.violations} == {"requests", "urllib3", "idna"}
    low = [f.model_copy(update={"severity": "low"}) for f in merged if f.id == "DEBIAN-CVE-2011-3374"]
    result = evaluate(low, "low", [entry])
    assert result.allowed == ["DEBIAN-CVE-2011-3374@apt"] and [v.package for v in result.violations] == [
        "libapt-pkg6.0"
    ]


def test_trend_reports_new_fixed_and_unchanged() -> None:
    merged, _ = merge({"builtin": _builtin()})
    previous = {
        "artifact_id": "a1",
        "image": "app:1",
        "scanned_at": "t0",
        "keys": ["GHSA-j8r2-6x86-q33q@requests", "GHSA-old-old-old@flask"],
    }
    diff = trend(previous, merged)
    assert diff is not None and diff.fixed == ["GHSA-old-old-old@flask"] and "GHSA-9hjg-9r4m-mvj7@requests" in diff.new
    assert diff.unchanged == 1 and len(diff.new) == len(merged) - 1
    assert trend(None, merged) is None


@pytest.mark.parametrize(
    ("image", "repo"),
    [
        ("app:1.0", "app"),
        ("127.0.0.1:5001/team/app:2@sha256:" + "a" * 64, "127.0.0.1:5001/team/app"),
        ("localhost:5000/app", "localhost:5000/app"),
    ],
)
def test_image_repository_drops_tag_and_digest(image: str, repo: str) -> None:
    assert image_repository(image) == repo


def test_sarif_locations_are_valid_uris_a_code_scanning_ui_can_show() -> None:
    """A finding without a file used the image name as its URI: `127.0.0.1:5001/shop:1` is not a URI reference."""
    import re
    from urllib.parse import unquote

    from containerkit.scan.models import Location, ScanReport, SeverityCounts, VulnerabilityFinding
    from containerkit.scan.sarif import to_sarif

    no_file = VulnerabilityFinding(
        id="DSA-5514-1",
        package="libc6",
        ecosystem="Debian:12",
        package_type="deb",
        installed_version="2.36-9",
        fixed_versions=["2.36-9+deb12u3"],
        severity="high",
    )
    in_file = no_file.model_copy(
        update={"id": "GHSA-x", "locations": [Location(path="/app/requirements.txt", layer=None)]}
    )
    report = ScanReport(
        image="127.0.0.1:5001/shop:1.4.2",
        scanned_at="2026-12-04T00:00:00Z",
        scanners=[],
        packages=2,
        total=2,
        fixable=2,
        counts=SeverityCounts(),
        findings=[no_file, in_file],
        summary="2 findings",
    )
    relative = re.compile(
        r"^(?![A-Za-z][A-Za-z0-9+.-]*:)[^:/][^\s]*$|^[^:]*$"
    )  # no scheme, no ':' in the first segment
    for dockerfile, expected in ((None, "127.0.0.1%3A5001/shop%3A1.4.2"), ("Dockerfile", "Dockerfile")):
        results = to_sarif(report, dockerfile=dockerfile)["runs"][0]["results"]
        uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
        assert uris == [expected, "app/requirements.txt"]
        assert all(":" not in uri.split("/")[0] and relative.match(uri) for uri in uris), uris
    assert unquote("127.0.0.1%3A5001/shop%3A1.4.2") == report.image


def test_findings_of_unknown_severity_fail_the_gate_only_when_asked_and_never_pass_silently() -> None:
    """Debian's OSV records carry no severity: `--fail-on low` passed an image with fixable OS findings and said
    nothing."""
    from containerkit.scan.models import VulnerabilityFinding
    from containerkit.scan.policy import evaluate

    os_finding = VulnerabilityFinding(
        id="DSA-5514-1",
        package="libc6",
        ecosystem="Debian:12",
        package_type="deb",
        installed_version="2.36-9",
        fixed_versions=["2.36-9+deb12u3"],
        severity="unknown",
    )
    lenient = evaluate([os_finding], "low", [])
    assert lenient.passed and lenient.unknown_not_gated == 1 and not lenient.fail_on_unknown
    strict = evaluate([os_finding], "low", [], fail_on_unknown=True)
    assert not strict.passed and [v.id for v in strict.violations] == ["DSA-5514-1"]
    assert evaluate([os_finding], "none", [], fail_on_unknown=True).passed  # no gate, nothing to fail


def test_ignore_file_syntax_expiry_purls_and_ignore_unfixed(tmp_path: Path) -> None:
    import datetime as dt

    from containerkit.errors import InvalidInputError
    from containerkit.scan.models import VulnerabilityFinding
    from containerkit.scan.policy import apply_ignores, evaluate, load_ignore_file

    path = tmp_path / ".trivyignore"
    path.write_text(
        "# a reason\n# over two lines\nDSA-5514-1\n\npkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1 exp:2030-01-01\nCVE-1 "
        "exp:2020-01-01\n"
    )
    entries = load_ignore_file(path)
    assert (entries[0].target, entries[0].line, entries[0].reason) == ("DSA-5514-1", 3, "a reason over two lines")
    libc = VulnerabilityFinding(
        id="DSA-5514-1",
        package="libc6",
        ecosystem="Debian:12",
        package_type="deb",
        installed_version="2.36-9",
        fixed_versions=["2.36-9+deb12u3"],
        severity="high",
    )
    bsd = VulnerabilityFinding(
        id="DEBIAN-CVE-2022-0563",
        package="bsdutils",
        ecosystem="Debian:12",
        package_type="deb",
        installed_version="1:2.38.1-5+b1",
        severity="low",
    )
    other = VulnerabilityFinding(
        id="CVE-1", package="zlib1g", ecosystem="Debian:12", package_type="deb", installed_version="1", severity="low"
    )
    marked, expired = apply_ignores(
        [libc, bsd, other], entries, ".trivyignore", ignore_unfixed=True, today=dt.date(2026, 12, 4)
    )
    assert [f.ignored for f in marked] == [
        ".trivyignore:3 (a reason over two lines)",
        ".trivyignore:5",
        "no fix published (ignore_unfixed)",
    ]
    assert [e.target for e in expired] == ["CVE-1"]
    assert evaluate(marked, "low", []).passed and not evaluate([libc, bsd, other], "low", []).passed
    path.write_text("CVE-2 exp:next-week\n")
    with pytest.raises(InvalidInputError) as err:
        load_ignore_file(path)
    assert ".trivyignore:1" in err.value.message


def test_packages_the_base_image_brings_are_fixed_by_the_base_image_not_the_apps_manifest(tmp_path: Path) -> None:
    """npm's own dependencies (in /usr/local/lib/node_modules/npm of the node images) were advised as package.json
    edits."""
    import json as jsonlib

    from containerkit.scan.models import Location, VulnerabilityFinding
    from containerkit.scan.remediation import remediate

    (tmp_path / "package.json").write_text(jsonlib.dumps({"name": "app", "dependencies": {"express": "^4.19.2"}}))
    bundled = VulnerabilityFinding(
        id="GHSA-3xgq-45jj-v275",
        package="cross-spawn",
        ecosystem="npm",
        package_type="npm",
        installed_version="7.0.3",
        fixed_versions=["7.0.5"],
        severity="high",
        locations=[Location(path="/usr/local/lib/node_modules/npm/node_modules/cross-spawn/package.json")],
    )
    [advice] = remediate([bundled], tmp_path, ["package.json"])
    assert "comes with the base image (npm" in advice.action and "newer tag of the base image" in advice.action
    assert advice.manifest is None and "change `" not in advice.action and "add `" not in advice.action
    assert jsonlib.loads((tmp_path / "package.json").read_text())["dependencies"] == {
        "express": "^4.19.2"
    }  # untouched, valid


@pytest.mark.parametrize(
    ("ecosystem", "line", "requirement", "fix", "edit"),
    [
        # a JSON object entry keeps its trailing comma (without it the package.json no longer parses)
        ("npm", '    "lodash": "^4.17.20",', '"lodash": ">=4.17.21"', "4.17.21", '"lodash": ">=4.17.21",'),
        ("npm", '    "lodash": "^4.17.20"', '"lodash": ">=4.17.21"', "4.17.21", '"lodash": ">=4.17.21"'),
        # a TOML array entry (pyproject dependencies) keeps its quotes and comma
        ("PyPI", '  "requests==2.25.0",', "requests>=2.32.4", "2.32.4", '"requests>=2.32.4",'),
        # a requirement keeps its extras and its environment marker
        (
            "PyPI",
            "Requests[socks]==2.25.0 ; python_version >= '3.8'",
            "requests>=2.32.4",
            "2.32.4",
            "Requests[socks]>=2.32.4 ; python_version >= '3.8'",
        ),
        ("PyPI", "requests==2.25.0", "requests>=2.32.4", "2.32.4", "requests>=2.32.4"),
    ],
)
def test_a_suggested_manifest_edit_keeps_the_line_valid(
    ecosystem: str, line: str, requirement: str, fix: str, edit: str
) -> None:
    assert edited_line(ecosystem, line, requirement, fix) == edit


def test_the_package_json_advice_applied_as_written_still_parses(tmp_path: Path) -> None:
    import json as jsonlib

    manifest = '{\n  "dependencies": {\n    "lodash": "^4.17.20",\n    "express": "^4.18.0"\n  }\n}\n'
    (tmp_path / "package.json").write_text(manifest)
    finding = VulnerabilityFinding(
        id="GHSA-35jh-r3h4-6jhm",
        package="lodash",
        ecosystem="npm",
        package_type="npm",
        installed_version="4.17.20",
        fixed_versions=["4.17.21"],
        severity="high",
    )
    [advice] = [r for r in remediate([finding], tmp_path) if r.kind == "language"]
    assert advice.line == 3 and advice.edit is not None
    lines = manifest.splitlines()
    lines[2] = "    " + advice.edit
    assert jsonlib.loads("\n".join(lines))["dependencies"]["lodash"] == ">=4.17.21"
