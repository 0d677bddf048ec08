"""Built-in matching: OSV range semantics, ecosystem version rules, Debian source mapping, severity, database errors."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from containerkit.errors import ScanError
from containerkit.scan import cvss, osv
from containerkit.scan.backends import BuiltinScanner, ScanInput, db_warnings
from containerkit.scan.models import Sbom
from containerkit.scan.osv import OsvAffected, OsvDatabase, affected_by
from containerkit.scan.remediation import remediate
from containerkit.scan.sbom import SyftOutput
from tests.scan.helpers import OSV_DIR, pkg, sbom


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1),  # CVE-2023-32681 (requests)
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),  # CVE-2021-33503
        ("CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N", 4.4),  # CVE-2024-37891
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:L/A:N", 3.3),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
    ],
)
def test_cvss_v3_base_score_matches_the_specification(vector: str, score: float) -> None:
    assert cvss.base_score(vector) == score


def test_cvss_rejects_v2_and_broken_vectors() -> None:
    assert cvss.base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P") is None
    assert cvss.base_score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") is None
    assert cvss.rating(7.0) == "high" and cvss.rating(9.0) == "critical" and cvss.rating(3.9) == "low"


def _affected(
    events: list[dict[str, str]], ecosystem: str = "PyPI", rtype: str = "ECOSYSTEM", versions: list[str] | None = None
) -> OsvAffected:
    return OsvAffected.model_validate(
        {
            "package": {"ecosystem": ecosystem, "name": "p"},
            "versions": versions or [],
            "ranges": [{"type": rtype, "events": events}],
        }
    )


def test_ranges_follow_osv_semantics_with_pypi_ordering() -> None:
    two_lines = _affected([{"introduced": "0"}, {"fixed": "1.26.17"}, {"introduced": "2.0.0"}, {"fixed": "2.0.6"}])
    assert affected_by(two_lines, "PyPI", "1.26.4") == (True, ["1.26.17"])  # 1.26.4 < 1.26.17 numerically, not as text
    assert affected_by(two_lines, "PyPI", "1.26.17") == (False, [])
    assert affected_by(two_lines, "PyPI", "2.0.5") == (True, ["2.0.6"])
    assert affected_by(two_lines, "PyPI", "2.1.0") == (False, [])
    assert affected_by(two_lines, "PyPI", "1.26.17rc1") == (True, ["1.26.17"])  # pre-release sorts before the release


def test_last_affected_is_inclusive_and_versions_lists_match_exactly() -> None:
    last = _affected([{"introduced": "1.0.0"}, {"last_affected": "1.4.2"}], ecosystem="npm", rtype="SEMVER")
    assert (
        affected_by(last, "npm", "1.4.2")[0]
        and not affected_by(last, "npm", "1.4.3")[0]
        and not affected_by(last, "npm", "0.9.0")[0]
    )
    listed = _affected([], versions=["2.0.1"])
    assert affected_by(listed, "PyPI", "2.0.1") == (True, []) and not affected_by(listed, "PyPI", "2.0.2")[0]


def test_debian_versions_compare_with_dpkg_rules() -> None:
    dsa = _affected([{"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}], ecosystem="Debian:12")
    assert affected_by(dsa, "Debian:12", "2.36-9+deb12u1")[0]
    assert not affected_by(dsa, "Debian:12", "2.36-9+deb12u14")[0]  # u14 > u3 (text order would say otherwise)
    tilde = _affected([{"introduced": "0"}, {"fixed": "3.0.14-1~deb12u2"}], ecosystem="Debian:12")
    assert affected_by(tilde, "Debian:12", "3.0.14-1~deb12u1")[0]
    assert not affected_by(tilde, "Debian:12", "3.0.14-1")[0]  # '~' sorts before the empty string


def test_go_semver_and_maven_rules() -> None:
    go = _affected([{"introduced": "0"}, {"fixed": "0.17.0"}], ecosystem="Go", rtype="SEMVER")
    assert affected_by(go, "Go", "v0.9.0")[0] and not affected_by(go, "Go", "v0.17.0")[0]
    mvn = _affected([{"introduced": "2.0-beta9"}, {"fixed": "2.15.0"}], ecosystem="Maven")
    assert affected_by(mvn, "Maven", "2.14.1")[0] and not affected_by(mvn, "Maven", "2.15.0")[0]


def test_binary_debian_packages_match_advisories_of_their_source_package() -> None:
    # historical bookworm versions: libc6 2.36-9+deb12u1 (Debian 12.1) is fixed by DSA-5514-1 in 2.36-9+deb12u3
    inventory = sbom(
        pkg("libc6", "2.36-9+deb12u1", "Debian:12", "deb", source="glibc"),
        pkg("bsdutils", "1:2.38.1-5+b1", "Debian:12", "deb", source="util-linux", source_version="2.38.1-5"),
        pkg("libssl3", "3.0.11-1~deb12u2", "Debian:12", "deb", source="openssl"),
    )
    db = OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory))
    found = {(f.id, f.package): f for f in osv.match(db, inventory)}
    assert set(found) == {
        ("DSA-5514-1", "libc6"),
        ("DSA-5650-1", "bsdutils"),
        ("DEBIAN-CVE-2022-0563", "bsdutils"),
        ("DSA-5764-1", "libssl3"),
    }
    assert found[("DSA-5514-1", "libc6")].fixed_versions == ["2.36-9+deb12u3"]
    assert found[("DSA-5514-1", "libc6")].source_package == "glibc"
    # bsdutils' binary version has an epoch (1:) the source version lacks: the source version is what is compared
    assert found[("DSA-5650-1", "bsdutils")].fixed_versions == ["2.38.1-5+deb12u1"]
    assert found[("DEBIAN-CVE-2022-0563", "bsdutils")].aliases == ["CVE-2022-0563"]
    assert not found[("DEBIAN-CVE-2022-0563", "bsdutils")].fixable


def test_pypi_matching_normalizes_names_and_reads_severity_from_the_vector() -> None:
    inventory = sbom(
        pkg("Requests", "2.25.0", "PyPI", "python"),
        pkg("urllib3", "1.26.4", "PyPI", "python"),
        pkg("certifi", "2024.8.30", "PyPI", "python"),
    )
    db = OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory))
    found = {f.id: f for f in osv.match(db, inventory)}
    assert set(found) == {
        "GHSA-j8r2-6x86-q33q",
        "GHSA-9wx4-h78v-vm56",
        "GHSA-9hjg-9r4m-mvj7",
        "GHSA-q2q7-5pp4-w6pg",
        "GHSA-v845-jxx5-vc9f",
        "GHSA-g4mx-q9vg-27p4",
        "GHSA-34jh-p97f-mpxf",
    }
    j8r2 = found["GHSA-j8r2-6x86-q33q"]
    assert (j8r2.severity, j8r2.cvss_score, j8r2.aliases) == ("medium", 6.1, ["CVE-2023-32681", "PYSEC-2023-74"])
    assert found["GHSA-q2q7-5pp4-w6pg"].severity == "high"


def test_database_severity_word_is_used_without_a_vector(tmp_path: Path) -> None:
    record = {
        "id": "GHSA-xxxx-yyyy-zzzz",
        "database_specific": {"severity": "CRITICAL"},
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}],
            }
        ],
    }
    (tmp_path / "r.json").write_text(json.dumps(record))
    inventory = sbom(pkg("lodash", "4.17.20", "npm", "npm"))
    [finding] = osv.match(OsvDatabase.load(tmp_path, osv.lookup_keys(inventory)), inventory)
    assert finding.severity == "critical" and finding.cvss_score is None


def test_a_database_zip_is_read_like_a_directory(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "all.zip", "w") as z:
        for f in (OSV_DIR / "PyPI").glob("*.json"):
            z.write(f, f.name)
    inventory = sbom(pkg("idna", "2.10", "PyPI", "python"))
    [finding] = osv.match(OsvDatabase.load(tmp_path / "all.zip", osv.lookup_keys(inventory)), inventory)
    assert finding.id == "GHSA-jjg7-2v4v-x38h" and finding.fixed_versions == ["3.7"]


def test_malformed_records_are_skipped_counted_and_reported_and_the_rest_match(tmp_path: Path) -> None:
    """One bad record used to abort the whole scan (SCAN_DB_INVALID)."""
    import shutil

    shutil.copytree(OSV_DIR, tmp_path / "db")
    (tmp_path / "db" / "Debian" / "bad.json").write_text("{not json")
    (tmp_path / "db" / "Debian" / "broken.json").write_text(
        json.dumps(
            {
                "id": "DSA-0000-1",
                "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"}, "ranges": "not a list"}],
            }
        )
    )
    inventory = sbom(pkg("libc6", "2.36-9+deb12u1", "Debian:12", "deb", source="glibc"))
    db = OsvDatabase.load(tmp_path / "db", osv.lookup_keys(inventory))
    assert db.skipped == 2 and any("bad.json" in e for e in db.skipped_examples)
    assert "DSA-5514-1" in {f.id for f in osv.match(db, inventory)}
    [warning] = db.warnings()
    assert warning.startswith("2 malformed OSV record(s) skipped")


def _syft() -> SyftOutput:
    return SyftOutput(
        sbom=sbom(pkg("requests", "2.25.0", "PyPI", "python")),
        syft_json="{}",
        cyclonedx_json="{}",
        version="t",
        duration_s=0,
    )


def test_missing_database_is_an_error_not_zero_findings(tmp_path: Path) -> None:
    scanner = BuiltinScanner(tmp_path / "nothing-here", 7)
    with pytest.raises(ScanError) as err:
        anyio.run(scanner.scan, ScanInput(image="t:1", workdir=tmp_path, syft=_syft()))
    assert err.value.code == "SCAN_DB_MISSING"
    assert "{tool:db_update}" in err.value.hint and "--db" in err.value.hint


def test_stale_database_warns_and_status_counts_records() -> None:
    status = osv.status(OSV_DIR, 7)
    assert status.exists and {e.ecosystem: e.records for e in status.ecosystems} == {"Debian": 7, "PyPI": 13}
    assert status.age_days is not None and status.age_days > 7
    [warning] = db_warnings(status)
    assert "days old (limit 7)" in warning and "{tool:db_update}" in warning


def test_status_without_metadata_counts_by_ecosystem(tmp_path: Path) -> None:
    for f in (OSV_DIR / "Debian").glob("*.json"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    status = osv.status(tmp_path, 7)
    assert [(e.ecosystem, e.records) for e in status.ecosystems] == [("Debian", 7)] and status.age_days is None
    assert "no download date" in db_warnings(status)[0]


def test_os_fix_advice_keeps_the_binary_packages_epoch() -> None:
    """bsdutils 1:2.38.1-5+b1 (source util-linux 2.38.1-5) is fixed by DSA-5650-1 in source 2.38.1-5+deb12u1: the advice
    names the binary version apt installs, 1:2.38.1-5+deb12u1 (it read `bsdutils ()` before)."""

    inventory = sbom(
        pkg("bsdutils", "1:2.38.1-5+b1", "Debian:12", "deb", source="util-linux", source_version="2.38.1-5")
    )
    db = OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory))
    [advice] = remediate(osv.match(db, inventory))
    assert "bsdutils (1:2.38.1-5+deb12u1)" in advice.action, advice.action


def test_ubuntu_lts_packages_use_osvs_lts_ecosystem_and_match_the_real_record() -> None:
    """syft reports Ubuntu 22.04; OSV names the release Ubuntu:22.04:LTS (Ubuntu images got no OS findings at all)."""
    from containerkit.scan.sbom import ecosystem_for, ubuntu_ecosystem

    assert [ubuntu_ecosystem(v) for v in ("22.04", "24.04", "24.10", "23.04")] == [
        "Ubuntu:22.04:LTS",
        "Ubuntu:24.04:LTS",
        "Ubuntu:24.10",
        "Ubuntu:23.04",
    ]
    ecosystem, _ = ecosystem_for("deb", None, "php8.1-cli", "ubuntu", "22.04")
    assert ecosystem == "Ubuntu:22.04:LTS"
    inventory = sbom(pkg("php8.1-cli", "8.1.2-1ubuntu2.21", ecosystem, "deb", source="php8.1"))
    db = OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory))
    [finding] = osv.match(db, inventory)
    assert finding.id == "UBUNTU-CVE-2025-6491" and finding.fixed_versions == ["8.1.2-1ubuntu2.22"]
    assert finding.source_package == "php8.1"
    fixed = sbom(pkg("php8.1-cli", "8.1.2-1ubuntu2.22", ecosystem, "deb", source="php8.1"))
    assert osv.match(OsvDatabase.load(OSV_DIR, osv.lookup_keys(fixed)), fixed) == []


def test_a_distribution_rating_gives_the_severity_when_there_is_no_cvss_vector() -> None:
    """UBUNTU-CVE-2025-6491 rates itself `medium` beside its CVSS vector; without the vector that rating is used."""
    record = json.loads((OSV_DIR / "Ubuntu" / "UBUNTU-CVE-2025-6491.json").read_text())
    parsed = osv.OsvRecord.model_validate(record)
    assert osv.record_severity(parsed)[:2] == ("medium", 5.9)  # the CVSS v3.1 vector wins when there is one
    record["severity"] = [s for s in record["severity"] if s["type"] == "Ubuntu"]
    assert osv.record_severity(osv.OsvRecord.model_validate(record)) == (
        "medium",
        None,
        None,
        "UBUNTU-CVE-2025-6491 (Ubuntu priority)",
    )


def test_alpine_packages_match_osvs_real_alpine_record_by_source_package() -> None:
    """syft reports Alpine 3.18.4 and musl-utils (origin musl); OSV files the record under Alpine:v3.18 / musl."""
    from containerkit.scan.sbom import ecosystem_for

    ecosystem, _ = ecosystem_for("apk", None, "musl-utils", "alpine", "3.18.4")
    assert ecosystem == "Alpine:v3.18"
    inventory = sbom(
        pkg("musl", "1.2.4-r2", ecosystem, "apk"), pkg("musl-utils", "1.2.4-r2", ecosystem, "apk", source="musl")
    )
    db = OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory))
    findings = osv.match(db, inventory)
    assert [(f.id, f.package, f.fixed_versions) for f in findings] == [
        ("ALPINE-CVE-2025-26519", "musl", ["1.2.4-r3"]),
        ("ALPINE-CVE-2025-26519", "musl-utils", ["1.2.4-r3"]),
    ]
    assert findings[0].aliases == ["CVE-2025-26519"]
    assert findings[0].severity == "high" and findings[0].severity_source == "ALPINE-CVE-2025-26519 (CVSS v3)"
    [advice] = remediate(findings)
    assert "RUN apk upgrade --no-cache musl musl-utils" in advice.action, advice.action
    # the 3.19 branch's fix is an Alpine version with a _git suffix: apk ordering, not text ordering
    on_319 = sbom(pkg("musl", "1.2.4_git20230717-r4", "Alpine:v3.19", "apk"))
    assert [f.fixed_versions for f in osv.match(OsvDatabase.load(OSV_DIR, osv.lookup_keys(on_319)), on_319)] == [
        ["1.2.4_git20230717-r5"]
    ]
    fixed = sbom(pkg("musl", "1.2.4-r3", ecosystem, "apk"))
    assert osv.match(OsvDatabase.load(OSV_DIR, osv.lookup_keys(fixed)), fixed) == []


def _alma(name: str, version: str) -> Sbom:
    from containerkit.scan.sbom import ecosystem_for

    ecosystem, _ = ecosystem_for("rpm", f"pkg:rpm/almalinux/{name}@{version}?arch=x86_64", name, "almalinux", "9.1")
    return Sbom(
        image="t:1", distro_id="almalinux", distro_version="9.1", packages=[pkg(name, version, str(ecosystem), "rpm")]
    )


def test_almalinux_packages_match_almalinuxs_real_record_with_rpm_ordering_and_its_rating() -> None:
    """ALSA-2023:0946 lists binary packages with epoch-qualified fixes, its CVEs under `related` and Red Hat's rating
    only in the summary: an AlmaLinux 9 image with openssl-libs 1:3.0.1-43.el9_0 is affected, rated medium."""
    inventory = _alma("openssl-libs", "1:3.0.1-43.el9_0")
    assert inventory.packages[0].ecosystem == "AlmaLinux:9"
    [finding] = osv.match(OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory)), inventory)
    assert finding.id == "ALSA-2023:0946" and finding.fixed_versions == ["1:3.0.1-47.el9_1"]
    assert finding.severity == "medium" and finding.severity_source == "ALSA-2023:0946 (advisory rating)"
    assert len(finding.related) == 8 and "CVE-2023-0286" in finding.related and finding.aliases == []
    [advice] = remediate([finding])
    assert "RUN dnf upgrade -y openssl-libs && dnf clean all" in advice.action and "(1:3.0.1-47.el9_1)" in advice.action
    for version in ("1:3.0.1-47.el9_1", "1:3.0.7-16.el9_2"):  # the fix itself, and a later rebase (3.0.7 > 3.0.1)
        later = _alma("openssl-libs", version)
        assert osv.match(OsvDatabase.load(OSV_DIR, osv.lookup_keys(later)), later) == []


def test_an_rpm_advisory_is_ignored_only_when_every_cve_it_fixes_is(tmp_path: Path) -> None:
    from containerkit.scan.policy import apply_ignores, load_ignore_file

    inventory = _alma("openssl-libs", "1:3.0.1-43.el9_0")
    [finding] = osv.match(OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory)), inventory)
    one = tmp_path / "one"
    one.write_text("CVE-2023-0286  # not reachable: no X.400 names here\n")
    assert apply_ignores([finding], load_ignore_file(one), "one")[0][0].ignored is None
    every = tmp_path / "every"
    every.write_text("".join(f"{cve}\n" for cve in finding.related))
    [ignored], _ = apply_ignores([finding], load_ignore_file(every), "every")
    assert ignored.ignored is not None and ignored.ignored.startswith(
        "every vulnerability it fixes is ignored (every:1"
    )
    by_id = tmp_path / "by-id"
    by_id.write_text("ALSA-2023:0946\n")
    assert apply_ignores([finding], load_ignore_file(by_id), "by-id")[0][0].ignored == "by-id:1"


def test_an_rpm_advisory_is_settled_by_vex_only_when_every_cve_it_fixes_is() -> None:
    from containerkit.scan import vex

    inventory = _alma("openssl-libs", "1:3.0.1-43.el9_0")
    [finding] = osv.match(OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory)), inventory)

    def stmt(cve: str) -> vex.Statement:
        return vex.Statement(cve, (), "not_affected", "vulnerable_code_not_in_execute_path", (), "vex.json")

    assert vex.apply([finding], [stmt("CVE-2023-0286")])[0].ignored is None
    settled = vex.apply([finding], [stmt(cve) for cve in finding.related])[0]
    assert settled.vex == "not_affected" and settled.ignored is not None


def test_rocky_linux_packages_get_osvs_rocky_ecosystem() -> None:
    """No real Rocky Linux record could be captured here (OSV is not reachable); the ecosystem name is OSV's own
    (ossf/osv-schema ecosystems.json: `Rocky Linux`, with the numeric major release), and its versions compare as
    RPMs."""
    from containerkit.scan.sbom import ecosystem_for
    from containerkit.scan.versions import parse

    assert ecosystem_for("rpm", None, "bash", "rocky", "9.3") == ("Rocky Linux:9", "bash")
    assert ecosystem_for("rpm", None, "bash", "alma", "8.10") == ("AlmaLinux:8", "bash")  # Trivy's family name
    assert parse("Rocky Linux:9", "0:4.9.3-2.el9_8.1") > parse("Rocky Linux:9", "4.9.3-1.el9")


def test_alpine_versions_order_as_apk_does_including_git_snapshots() -> None:
    """apk-tools' order: a pre-release suffix before the release, a snapshot or patch suffix after it, the letter
    after the numbers, more numbers later; univers refused `_git` versions, so Alpine 3.19's musl was never matched."""
    from containerkit.scan.versions import UnparsableVersionError, parse

    ordered = [
        "1.2.4_rc1-r0",
        "1.2.4-r0",
        "1.2.4-r3",
        "1.2.4_git20230717-r4",
        "1.2.4_git20230717-r5",
        "1.2.4_p1-r0",
        "1.2.4a-r0",
        "1.2.4.1-r0",
        "1.2.5-r1",
        "1.10.0-r0",
    ]
    assert sorted(reversed(ordered), key=lambda v: parse("Alpine:v3.19", v)) == ordered
    assert parse("Alpine:v3.19", "3.1.4-r5") == parse("Alpine:v3.19", "3.1.4~9f3a-r5")  # the ~hash does not order
    with pytest.raises(UnparsableVersionError):
        parse("Alpine:v3.19", "not-a-version")


def test_opensuse_leap_packages_get_the_ecosystem_osvs_api_answered_for() -> None:
    """A real exchange with api.osv.dev, recorded by osv-scanner (tests/data/scan/osv-api): the 136 packages of an
    opensuse/leap:15.5 image queried under `openSUSE:Leap 15.5`, and SUSE's advisories the API returned for curl and
    openssl-1_1. syft reports that image's os-release ID `opensuse-leap` and VERSION_ID 15.5; Trivy's family is
    `opensuse.leap`. Before, both gave no ecosystem: every package went unchecked, silently."""
    from containerkit.scan.sbom import ecosystem_for
    from containerkit.scan.versions import parse

    exchange = json.loads((OSV_DIR.parent / "osv-api" / "querybatch-opensuse-leap-15.5.json").read_text())
    for ecosystem, name, version in exchange["queries"]:
        purl = f"pkg:rpm/opensuse/{name}@{version}?arch=x86_64&distro=opensuse-leap-15.5"
        assert ecosystem_for("rpm", purl, name, "opensuse-leap", "15.5") == (ecosystem, name)
        assert ecosystem_for("rpm", None, name, "opensuse.leap", "15.5") == (ecosystem, name)
        parse(ecosystem, version)  # every installed build reads as an RPM version
    answered = {q[1]: ids for q, ids in zip(exchange["queries"], exchange["results"], strict=True) if ids}
    assert answered == {"curl": ["SUSE-SU-2024:3926-1", "SUSE-SU-2024:4359-1"], "openssl-1_1": ["SUSE-SU-2024:3765-1"]}
    # SUSE's builds order as RPMs: a later maintenance build of the same upstream version is newer
    assert parse("openSUSE:Leap 15.5", "8.0.1-150400.5.50.1") < parse("openSUSE:Leap 15.5", "8.0.1-150400.5.62.1")


def test_os_advice_speaks_each_distributions_package_manager() -> None:
    """The advice for a fixable OS finding names the package manager of its distribution (the fixed builds below are
    test inputs, later than the installed ones; they are not taken from an advisory)."""
    from containerkit.scan.models import VulnerabilityFinding

    def finding(ecosystem: str, ptype: str, installed: str, fixed: str) -> VulnerabilityFinding:
        return VulnerabilityFinding(
            id="T-1",
            package="curl",
            ecosystem=ecosystem,
            package_type=ptype,
            installed_version=installed,
            fixed_versions=[fixed],
            severity="high",
        )

    cases = {
        "openSUSE:Leap 15.5": ("rpm", "8.0.1-150400.5.50.1", "8.0.1-150400.5.62.1", "zypper --non-interactive update"),
        "Wolfi": ("apk", "8.10.1-r0", "8.10.1-r1", "apk upgrade --no-cache"),
        "Chainguard": ("apk", "8.10.1-r0", "8.10.1-r1", "apk upgrade --no-cache"),
        "Rocky Linux:9": ("rpm", "7.76.1-26.el9", "7.76.1-26.el9_3.2", "dnf upgrade -y"),
    }
    for ecosystem, (ptype, installed, fixed, command) in cases.items():
        [advice] = remediate([finding(ecosystem, ptype, installed, fixed)])
        assert advice.kind == "os" and f"RUN {command} curl" in advice.action, (ecosystem, advice.action)


def test_wolfi_and_chainguard_packages_are_looked_up_under_their_origin_package() -> None:
    """Wolfi and Chainguard are rolling apk distributions: os-release has no VERSION_ID, OSV files them under the bare
    `Wolfi` / `Chainguard` (ossf/osv-schema's ecosystem list) and names origin packages, as Alpine does."""
    from containerkit.scan.sbom import ecosystem_for

    assert ecosystem_for("apk", "pkg:apk/wolfi/libcrypto3@3.3.2-r0", "libcrypto3", "wolfi", None) == (
        "Wolfi",
        "libcrypto3",
    )
    assert ecosystem_for("apk", None, "libcrypto3", "chainguard", None) == ("Chainguard", "libcrypto3")
    inventory = sbom(pkg("libcrypto3", "3.3.2-r0", "Wolfi", "apk", source="openssl"))
    assert osv.lookup_keys(inventory) == {("Wolfi", "openssl")}


def test_what_the_scan_could_not_check_is_said_not_passed_as_clean(tmp_path: Path) -> None:
    """Packages of a distribution with no known OSV ecosystem (a RHEL image), and packages of an ecosystem the
    database holds nothing for (an Alpine branch outside the captured record, a Rocky Linux image scanned with a
    database without Rocky Linux), are counted in the scan's warnings; before, they passed as zero findings."""
    inventory = Sbom(
        image="t:1",
        distro_id="rhel",
        distro_version="9.4",
        packages=[
            pkg("bash", "5.1.8-9.el9", "PyPI", "rpm").model_copy(update={"ecosystem": None}),
            pkg("glibc", "2.34-100.el9", "PyPI", "rpm").model_copy(update={"ecosystem": None}),
            pkg("musl", "1.2.4-r2", "Alpine:v3.18", "apk"),  # the captured record covers 3.16 to 3.24
            pkg("musl", "1.1.24-r3", "Alpine:v3.12", "apk"),
            pkg("openssl-libs", "1:3.0.7-27.el9", "Rocky Linux:9", "rpm"),
            pkg("requests", "2.25.0", "PyPI", "python"),
            # what syft reads from pip's Windows launchers in every Python image: no gap worth a warning
            pkg("Simple Launcher", "1.1.0.14", "NuGet", "dotnet", path="/usr/lib/python3/pip/_vendor/distlib/t32.exe"),
        ],
    )
    syft = SyftOutput(sbom=inventory, syft_json="{}", cyclonedx_json="{}", version="t", duration_s=0)
    out = anyio.run(BuiltinScanner(OSV_DIR, 7).scan, ScanInput(image="t:1", workdir=tmp_path, syft=syft))
    unchecked = [w for w in out.warnings if "not checked" in w]
    assert unchecked[0].startswith("2 rpm package(s) of rhel 9.4 were not checked"), unchecked
    assert "--scanner trivy or grype" in unchecked[0] and "openSUSE" in unchecked[0]
    assert [w.split(",")[0] for w in unchecked[1:]] == [
        "the vulnerability database holds no Alpine:v3.12 advisories",
        "the vulnerability database holds no Rocky Linux:9 advisories",
    ]
    assert "ecosystem Rocky Linux)" in unchecked[2]
    assert {f.package for f in out.findings} == {"musl", "requests"}  # what is covered is still matched
