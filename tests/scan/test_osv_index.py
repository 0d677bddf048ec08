"""The OSV database's SQLite index (built once, read per scan) and severities taken from the CVE's own record."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from containerkit.scan import osv, osvindex
from containerkit.scan.osv import OsvDatabase
from containerkit.scan.policy import evaluate
from tests.scan.helpers import OSV_DIR, pkg, sbom

UTIL_LINUX = sbom(pkg("util-linux", "2.38.1-5+deb12u3", "Debian:12", "deb", source="util-linux"))


def _copy(tmp_path: Path, *parts: str) -> Path:
    db = tmp_path / "db"
    for part in parts:
        shutil.copytree(OSV_DIR / part, db / part)
    return db


def test_a_debian_finding_takes_its_severity_from_the_cve_record_and_says_so(tmp_path: Path) -> None:
    """OSV's Debian records carry no severity: every Debian finding was `unknown`, below `low`, and `--fail-on low`
    passed an image full of fixable OS findings. The CVE's own record (CVE-2022-0563, NVD's CVSS v3.1) rates it."""
    alone = osv.match(OsvDatabase.load(_copy(tmp_path / "a", "Debian"), osv.lookup_keys(UTIL_LINUX)), UTIL_LINUX)
    [unrated] = [f for f in alone if f.id == "DEBIAN-CVE-2022-0563"]
    assert (unrated.severity, unrated.severity_source) == ("unknown", "DEBIAN-CVE-2022-0563 (no severity)")

    found = osv.match(OsvDatabase.load(_copy(tmp_path / "b", "Debian", "CVE"), osv.lookup_keys(UTIL_LINUX)), UTIL_LINUX)
    [rated] = [f for f in found if f.id == "DEBIAN-CVE-2022-0563"]
    assert (rated.severity, rated.cvss_score) == ("medium", 5.5)
    assert rated.cvss_vector == "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"
    assert rated.severity_source == "CVE-2022-0563 (CVSS v3)"
    # and the gate sees it: --fail-on medium fails on it, as it passed (silently, before --fail-on-unknown) without
    assert not evaluate([rated], "medium", []).passed and evaluate([unrated], "medium", []).passed


def test_a_cvss_v4_only_record_gets_a_severity(tmp_path: Path) -> None:
    """A record whose only vector is CVSS v4.0 was `unknown`; FIRST's calculator gives this vector 8.7 (high)."""
    record = json.loads((OSV_DIR / "PyPI" / "GHSA-jjg7-2v4v-x38h.json").read_text())
    record["severity"] = [
        {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N"}
    ]
    record.pop("database_specific", None)
    (tmp_path / "r.json").write_text(json.dumps(record))
    inventory = sbom(pkg("idna", "2.10", "PyPI", "python"))
    [finding] = osv.match(OsvDatabase.load(tmp_path, osv.lookup_keys(inventory)), inventory)
    assert (finding.severity, finding.cvss_score) == ("high", 8.7)
    assert finding.severity_source == "GHSA-jjg7-2v4v-x38h (CVSS v4)"


def test_db_update_indexes_beside_the_database_and_a_users_directory_is_indexed_in_the_cache(tmp_path: Path) -> None:
    managed = _copy(tmp_path, "PyPI")
    (managed / "containerkit-db.json").write_text(json.dumps({"ecosystems": {}}))
    stats = osv.build_index(managed)
    assert stats.records == len(list((OSV_DIR / "PyPI").glob("*.json")))
    assert (managed / osvindex.INDEX_FILE).is_file()
    inventory = sbom(pkg("idna", "2.10", "PyPI", "python"))
    assert [f.id for f in osv.match(OsvDatabase.load(managed, osv.lookup_keys(inventory)), inventory)] == [
        "GHSA-jjg7-2v4v-x38h"
    ]

    users = tmp_path / "theirs"
    shutil.copytree(OSV_DIR / "PyPI", users)
    before = sorted(p.name for p in users.iterdir())
    cache = tmp_path / "cache"
    OsvDatabase.load(users, osv.lookup_keys(inventory), cache_dir=cache)
    assert sorted(p.name for p in users.iterdir()) == before  # nothing written into the user's directory
    assert [p.suffix for p in (cache / "osv-index").iterdir()] == [".sqlite"]


def test_the_index_follows_the_files_it_was_built_from(tmp_path: Path) -> None:
    db = tmp_path / "db"
    db.mkdir()
    inventory = sbom(pkg("idna", "2.10", "PyPI", "python"))
    cache = tmp_path / "cache"
    assert osv.match(OsvDatabase.load(db, osv.lookup_keys(inventory), cache_dir=cache), inventory) == []
    shutil.copy(OSV_DIR / "PyPI" / "GHSA-jjg7-2v4v-x38h.json", db)
    [finding] = osv.match(OsvDatabase.load(db, osv.lookup_keys(inventory), cache_dir=cache), inventory)
    assert finding.id == "GHSA-jjg7-2v4v-x38h"
    # a record edited in place (same name, new content and time) is read again
    record = json.loads((db / "GHSA-jjg7-2v4v-x38h.json").read_text())
    record["withdrawn"] = "2025-01-01T00:00:00Z"
    (db / "GHSA-jjg7-2v4v-x38h.json").write_text(json.dumps(record))
    os.utime(db / "GHSA-jjg7-2v4v-x38h.json", ns=(1, 2))
    assert osv.match(OsvDatabase.load(db, osv.lookup_keys(inventory), cache_dir=cache), inventory) == []


def test_the_index_reads_only_the_records_of_the_wanted_packages(tmp_path: Path) -> None:
    inventory = sbom(pkg("idna", "2.10", "PyPI", "python"))
    db = OsvDatabase.load(OSV_DIR, osv.lookup_keys(inventory), cache_dir=tmp_path)
    assert db.loaded == 1 and set(db.records) == {("PyPI", "idna")}
