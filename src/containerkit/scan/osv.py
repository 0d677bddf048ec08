"""A local OSV database: load records (directory of JSON files, per-ecosystem zips) and match packages.

Layout written by ``containerkit db update``: ``<db>/<Ecosystem>/all.zip`` as published by OSV, plus
``<db>/containerkit-db.json`` recording when each ecosystem was downloaded. ``--db`` also accepts any
directory of OSV JSON files (searched recursively, zips included) or a single zip.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from containerkit import _cache
from containerkit.errors import ScanError
from containerkit.scan import cvss, osvindex
from containerkit.scan.models import DbEcosystem, DbStatus, Package, Sbom, Severity, VulnerabilityFinding
from containerkit.scan.versions import (
    OS_FAMILIES,
    RPM_OS,
    SOURCE_NAMED_OS,
    UnparsableVersionError,
    ecosystem_family,
    normalize_name,
    parse,
    parse_semver,
)

META_FILE = "containerkit-db.json"


class _Osv(BaseModel):
    """Parsed third-party JSON: unknown OSV fields are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class OsvEvent(_Osv):
    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None


class OsvRange(_Osv):
    type: str
    events: list[OsvEvent] = Field(default_factory=list)


class OsvPackage(_Osv):
    ecosystem: str
    name: str
    purl: str | None = None


class OsvSeverity(_Osv):
    type: str
    score: str


class OsvAffected(_Osv):
    #: absent in records of a git repository's commits (OSV's CVE records): they match no package, but their
    #: severity rates the distribution records that point to them
    package: OsvPackage | None = None
    ranges: list[OsvRange] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    severity: list[OsvSeverity] = Field(default_factory=list)
    ecosystem_specific: dict[str, object] | None = None
    database_specific: dict[str, object] | None = None


class OsvRecord(_Osv):
    id: str
    summary: str | None = None
    details: str | None = None
    aliases: list[str] = Field(default_factory=list)
    upstream: list[str] = Field(default_factory=list)
    related: list[str] = Field(default_factory=list)
    withdrawn: str | None = None
    modified: str | None = None
    published: str | None = None
    severity: list[OsvSeverity] = Field(default_factory=list)
    affected: list[OsvAffected] = Field(default_factory=list)
    database_specific: dict[str, object] | None = None


class DbMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ecosystems: dict[str, DbEcosystem] = Field(default_factory=dict)


# --- loading -----------------------------------------------------------------------------


def read_meta(root: Path) -> DbMeta:
    path = root / META_FILE if root.is_dir() else root.with_name(META_FILE)
    if not path.is_file():
        return DbMeta()
    try:
        return DbMeta.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as e:
        raise ScanError(f"the database metadata {path} is unreadable: {e}", hint="Run {tool:db_update} again.") from e


def write_meta(root: Path, meta: DbMeta) -> None:
    (root / META_FILE).write_text(meta.model_dump_json(indent=2), encoding="utf-8")


def _iter_documents(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_file() and path.suffix == ".zip":
        yield from _iter_zip(path)
        return
    if path.is_file():
        yield str(path), path.read_bytes()
        return
    for file in sorted(path.rglob("*")):
        if file.name == META_FILE or not file.is_file():
            continue
        if file.suffix == ".json":
            yield str(file), file.read_bytes()
        elif file.suffix == ".zip":
            yield from _iter_zip(file)


def _iter_zip(path: Path) -> Iterator[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.endswith(".json"):
                    yield f"{path}!{name}", archive.read(name)
    except (zipfile.BadZipFile, OSError) as e:
        raise ScanError(f"cannot read OSV archive {path}: {e}", hint="Delete it and run {tool:db_update}.") from e


@dataclass
class OsvDatabase:
    """The records relevant to a set of (ecosystem, name) keys, indexed for lookup, and the records they point to
    (the CVE record behind a distribution's advisory, for its severity)."""

    path: Path
    records: dict[tuple[str, str], list[OsvRecord]] = field(default_factory=dict)
    #: records named by the upstream/aliases of the loaded ones, by id
    related: dict[str, OsvRecord] = field(default_factory=dict)
    loaded: int = 0
    #: malformed documents, skipped: how many, and the first few (where: why)
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    #: of the wanted keys' ecosystems, those the database has any record for (None: every key was loaded)
    holding: set[str] | None = None

    def skip(self, where: str, why: str) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < 5:
            self.skipped_examples.append(f"{where}: {why}")

    def warnings(self) -> list[str]:
        if not self.skipped:
            return []
        return [
            f"{self.skipped} malformed OSV record(s) skipped, the others matched (first: {self.skipped_examples[0]}); "
            "re-download the database ({tool:db_update}) if this persists"
        ]

    @classmethod
    def load(cls, path: Path, wanted: set[tuple[str, str]] | None = None, cache_dir: Path | None = None) -> OsvDatabase:
        """The records under ``path`` that name a wanted (ecosystem, name), read through the database's SQLite index
        (built on first use, see :mod:`containerkit.scan.osvindex`). A malformed document (not JSON, not a valid OSV
        record) is skipped and counted (:meth:`warnings` reports them): one bad record does not stop the scan.
        """
        index = osvindex.Index(ensure_index(path, cache_dir))
        try:
            db = cls(path=path, skipped=index.skipped, skipped_examples=list(index.skipped_examples))
            if wanted is not None:
                db.holding = index.holding(eco for eco, _ in wanted)
            parsed: dict[str, OsvRecord | None] = {}  # each record once, though it may affect several packages
            for key, vuln_id, raw in index.for_packages(wanted):
                if vuln_id not in parsed:
                    parsed[vuln_id] = db._parse(vuln_id, raw)
                record = parsed[vuln_id]
                if record is not None:
                    db.records.setdefault(key, []).append(record)
            db.loaded = sum(1 for record in parsed.values() if record is not None)
            pointed = {
                ref for record in parsed.values() if record is not None for ref in (*record.upstream, *record.aliases)
            }
            for vuln_id, raw in index.by_id(pointed).items():
                related = db._parse(vuln_id, raw)
                if related is not None:
                    db.related[vuln_id] = related
            return db
        finally:
            index.close()

    def _parse(self, vuln_id: str, raw: bytes) -> OsvRecord | None:
        try:
            record = OsvRecord.model_validate_json(raw)
        except ValidationError as e:
            self.skip(vuln_id, f"not a valid OSV record ({e.errors()[0]['msg']})")
            return None
        return None if record.withdrawn else record


def ensure_index(path: Path, cache_dir: Path | None = None) -> Path:
    """The SQLite index of the database at ``path``, (re)built when missing or older than its files: beside a
    database ``db update`` indexed, else in the cache directory (a user's own --db directory is not written to)."""
    beside = path / osvindex.INDEX_FILE if path.is_dir() else None
    target = (
        beside if beside is not None and beside.is_file() else osvindex.location(path, cache_dir or _cache.cache_dir())
    )
    stamp = osvindex.fingerprint(path)
    if not osvindex.is_fresh(target, stamp):
        osvindex.build(_iter_documents(path), target, stamp, _keys)
    return target


def build_index(root: Path) -> osvindex.BuildStats:
    """Index a database ``db update`` manages, beside it (``<db>/index.sqlite``)."""
    return osvindex.build(_iter_documents(root), root / osvindex.INDEX_FILE, osvindex.fingerprint(root), _keys)


def _keys(doc: dict[str, object]) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    affected = doc.get("affected")
    if not isinstance(affected, list):
        return keys
    for entry in affected:
        pkg = entry.get("package") if isinstance(entry, dict) else None
        if isinstance(pkg, dict) and isinstance(pkg.get("ecosystem"), str) and isinstance(pkg.get("name"), str):
            keys.add((pkg["ecosystem"], normalize_name(pkg["ecosystem"], pkg["name"])))
    return keys


def status(root: Path, max_age_days: int, now: dt.datetime | None = None) -> DbStatus:
    """What the database at ``root`` holds and how old it is."""
    meta = read_meta(root) if root.exists() else DbMeta()
    ecosystems = sorted(meta.ecosystems.values(), key=lambda e: e.ecosystem)
    if not ecosystems and root.exists():
        ecosystems = _count_by_ecosystem(root)
    dates = [dt.datetime.fromisoformat(e.updated_at) for e in ecosystems if e.updated_at]
    oldest = min(dates) if dates else None
    now = now or dt.datetime.now(dt.UTC)
    age = (now - oldest).total_seconds() / 86400 if oldest else None
    return DbStatus(
        path=str(root),
        exists=root.exists() and any(_iter_paths(root)),
        ecosystems=ecosystems,
        oldest_update=oldest.isoformat() if oldest else None,
        age_days=round(age, 2) if age is not None else None,
        max_age_days=max_age_days,
    )


def _count_by_ecosystem(root: Path) -> list[DbEcosystem]:
    """Record counts per ecosystem family for a database without metadata (a user-supplied --db), from its index
    (built here when missing: the scan that follows reads it)."""
    index = osvindex.Index(ensure_index(root))
    try:
        counts = index.count_by(lambda eco: eco.split(":", 1)[0])
    finally:
        index.close()
    return [DbEcosystem(ecosystem=eco, records=n) for eco, n in sorted(counts.items())]


def _iter_paths(root: Path) -> Iterable[Path]:
    if root.is_file():
        yield root
        return
    for file in root.rglob("*"):
        if file.is_file() and file.suffix in (".json", ".zip") and file.name != META_FILE:
            yield file
            return


def coverage_warnings(db: OsvDatabase, sbom: Sbom) -> list[str]:
    """What the scan could not check, said instead of passing as clean: operating-system packages of a distribution
    no OSV ecosystem is known for, and packages of an ecosystem the database holds no record of (a database
    downloaded without it, or a release OSV does not cover)."""
    out: list[str] = []
    unmapped = [p for p in sbom.packages if p.ecosystem is None and p.type in ("deb", "apk", "rpm")]
    if unmapped:
        distro = " ".join(filter(None, (sbom.distro_id, sbom.distro_version))) or "an unknown distribution"
        out.append(
            f"{len(unmapped)} {unmapped[0].type} package(s) of {distro} were not checked: the built-in scanner knows "
            f"OSV's ecosystems for {', '.join(OS_FAMILIES)}; scan this image with --scanner trivy or grype"
        )
    if db.holding is not None:
        missing: dict[str, int] = {}
        for p in sbom.packages:
            if p.ecosystem and p.ecosystem not in db.holding and not _windows_binary(p):
                missing[p.ecosystem] = missing.get(p.ecosystem, 0) + 1
        for eco, count in sorted(missing.items()):
            out.append(
                f"the vulnerability database holds no {eco} advisories, so its {count} package(s) were not checked: "
                f"download them ({{tool:db_update}} with ecosystem {ecosystem_family(eco)})"
            )
    return out


def _windows_binary(package: Package) -> bool:
    """A "NuGet" package syft read from a Windows executable's version resource (pip's distlib ships t32.exe, w64.exe
    …: "Simple Launcher" in every Python image), not one a .NET app's deps.json declares: it is still matched, but
    a database without NuGet is no gap worth a warning for it."""
    paths = [loc.path.lower() for loc in package.locations]
    return package.ecosystem == "NuGet" and bool(paths) and all(path.endswith((".exe", ".dll")) for path in paths)


# --- matching ------------------------------------------------------------------------------


def lookup_keys(sbom: Sbom) -> set[tuple[str, str]]:
    return {(p.ecosystem, normalize_name(p.ecosystem, advisory_name(p))) for p in sbom.packages if p.ecosystem}


def advisory_name(package: Package) -> str:
    """OS advisories name source packages; language advisories the package itself."""
    if package.ecosystem and ecosystem_family(package.ecosystem) in SOURCE_NAMED_OS:
        return package.source_name or package.name
    return package.name


def advisory_version(package: Package) -> str:
    if package.ecosystem and ecosystem_family(package.ecosystem) in SOURCE_NAMED_OS:
        return package.source_version or package.version
    return package.version


def match(db: OsvDatabase, sbom: Sbom) -> list[VulnerabilityFinding]:
    """Every (advisory, package) pair where the installed version is affected."""
    findings: list[VulnerabilityFinding] = []
    for package in sbom.packages:
        if not package.ecosystem:
            continue
        name = normalize_name(package.ecosystem, advisory_name(package))
        for record in db.records.get((package.ecosystem, name), []):
            finding = _match_record(db, record, package, name)
            if finding is not None:
                findings.append(finding)
    return findings


def _match_record(db: OsvDatabase, record: OsvRecord, package: Package, name: str) -> VulnerabilityFinding | None:
    assert package.ecosystem is not None
    version = advisory_version(package)
    for affected in record.affected:
        if (
            affected.package is None
            or affected.package.ecosystem != package.ecosystem
            or normalize_name(affected.package.ecosystem, affected.package.name) != name
        ):
            continue
        hit, fixed = affected_by(affected, package.ecosystem, version)
        if not hit:
            continue
        severity, score, vector, rated_by = finding_severity(db, record, affected)
        source = advisory_name(package)
        return VulnerabilityFinding(
            id=record.id,
            aliases=_aliases(record),
            related=_related(record),
            summary=record.summary or _first_line(record.details),
            package=package.name,
            source_package=source if source != package.name else None,
            ecosystem=package.ecosystem,
            package_type=package.type,
            installed_version=package.version,
            fixed_versions=fixed,
            severity=severity,
            cvss_score=score,
            cvss_vector=vector,
            severity_source=rated_by,
            locations=package.locations,
            found_by=["builtin"],
            url=advisory_url(record.id),
            published=record.published,
        )
    return None


def affected_by(affected: OsvAffected, ecosystem: str, version: str) -> tuple[bool, list[str]]:
    """Whether ``version`` is affected, and the fixed versions of the ranges that contain it."""
    fixed: list[str] = []
    hit = version in affected.versions
    for rng in affected.ranges:
        if rng.type not in ("ECOSYSTEM", "SEMVER"):
            continue
        try:
            in_range, fix = _in_range(rng, ecosystem, version)
        except UnparsableVersionError:
            continue
        if in_range:
            hit = True
            if fix:
                fixed.append(fix)
    return hit, sorted(set(fixed))


def _in_range(rng: OsvRange, ecosystem: str, version: str) -> tuple[bool, str | None]:
    def p(text: str) -> object:
        return parse_semver(text) if rng.type == "SEMVER" else parse(ecosystem, text)

    installed = p(version)
    intervals: list[tuple[str, str | None, bool]] = []  # (introduced, end, end_inclusive)
    starts = [e.introduced for e in rng.events if e.introduced is not None]
    ends = [(e.fixed, False) for e in rng.events if e.fixed is not None]
    ends += [(e.last_affected, True) for e in rng.events if e.last_affected is not None]
    for start in starts:
        start_v = None if start == "0" else p(start)
        later = [(end, inc) for end, inc in ends if end is not None and (start_v is None or p(end) > start_v)]  # type: ignore[operator]
        later.sort(key=lambda item: p(item[0]))  # type: ignore[arg-type,return-value]
        end, inclusive = later[0] if later else (None, False)
        intervals.append((start, end, inclusive))
    for start, end, inclusive in intervals:
        if start != "0" and installed < p(start):  # type: ignore[operator]
            continue
        if end is None:
            return True, None
        end_v = p(end)
        if installed < end_v or (inclusive and installed == end_v):  # type: ignore[operator]
            return True, None if inclusive else end
    return False, None


def record_severity(
    record: OsvRecord, affected: OsvAffected | None = None
) -> tuple[Severity, float | None, str | None, str]:
    """(severity, CVSS score, vector, where the severity came from): a CVSS v3 vector (computed), else a CVSS v4 one,
    else the distribution's own rating (Ubuntu's ``{"type": "Ubuntu", "score": "medium"}``), else the database's own
    word; ``unknown`` when the record has none of them."""
    entries = [*(affected.severity if affected else []), *record.severity]
    for kinds, score_of, label in (
        (("CVSS_V3", "CVSS_V31", "CVSS_V30"), cvss.base_score, "CVSS v3"),
        (("CVSS_V4",), cvss.base_score_v4, "CVSS v4"),
    ):
        for entry in entries:
            if entry.type in kinds:
                score = score_of(entry.score)
                if score is not None:
                    return cvss.rating(score), score, entry.score, f"{record.id} ({label})"
    for entry in entries:
        if entry.type == "Ubuntu" and cvss.severity_word(entry.score) != "unknown":
            return cvss.severity_word(entry.score), None, None, f"{record.id} (Ubuntu priority)"
    rated = _summary_rating(record, affected)
    if rated is not None:
        return rated, None, None, f"{record.id} (advisory rating)"
    for specific in (
        record.database_specific,
        affected.ecosystem_specific if affected else None,
        affected.database_specific if affected else None,
    ):
        word = specific.get("severity") if specific else None
        if isinstance(word, str) and cvss.severity_word(word) != "unknown":
            return cvss.severity_word(word), None, None, f"{record.id} (database severity)"
    return "unknown", None, None, f"{record.id} (no severity)"


def finding_severity(
    db: OsvDatabase, record: OsvRecord, affected: OsvAffected
) -> tuple[Severity, float | None, str | None, str]:
    """The record's own severity, else that of the CVE it points to (Debian's records carry none: the CVE's record
    in the same database has the CVSS vector)."""
    own = record_severity(record, affected)
    if own[0] != "unknown":
        return own
    for vuln_id in [*record.upstream, *record.aliases]:
        related = db.related.get(vuln_id)
        if related is not None:
            theirs = record_severity(related)
            if theirs[0] != "unknown":
                return theirs
    return own


def _summary_rating(record: OsvRecord, affected: OsvAffected | None) -> Severity | None:
    """RPM distributions' advisories (ALSA, RLSA) carry Red Hat's rating only as the first word of their summary:
    ``"Moderate: openssl security and bug fix update"``."""
    ecosystems = [a.package.ecosystem for a in ([affected] if affected else record.affected) if a.package]
    if not record.summary or not any(ecosystem_family(e) in RPM_OS for e in ecosystems):
        return None
    word, colon, _ = record.summary.partition(":")
    rating = cvss.severity_word(word) if colon else "unknown"
    return rating if rating != "unknown" else None


def _related(record: OsvRecord) -> list[str]:
    """The CVEs a distribution advisory fixes (ALSA/RLSA list them under ``related``: each is its own vulnerability,
    so they are not aliases of the advisory)."""
    aliases = set(_aliases(record))
    return sorted(dict.fromkeys(r for r in record.related if r != record.id and r not in aliases))


def _aliases(record: OsvRecord) -> list[str]:
    out = [*record.aliases, *record.upstream]
    embedded = (
        record.id.split("-", 1)[1] if record.id.startswith(("DEBIAN-CVE-", "UBUNTU-CVE-", "ALPINE-CVE-")) else None
    )
    if embedded and embedded not in out:
        out.append(embedded)
    return sorted(dict.fromkeys(a for a in out if a != record.id))


def _first_line(text: str | None) -> str | None:
    return text.strip().splitlines()[0][:200] if text and text.strip() else None


def advisory_url(vuln_id: str) -> str:
    if vuln_id.startswith("GHSA-"):
        return f"https://github.com/advisories/{vuln_id}"
    return f"https://osv.dev/vulnerability/{vuln_id}"
