"""An SQLite index of an OSV database, built once and read by every scan.

OSV publishes each ecosystem as one zip of JSON records (several hundred thousand records for Debian, npm, PyPI, Go
and Maven together). Parsing all of them for every scan took 18 s per 100,000 records; the index keeps each record
compressed, keyed by id and by every (ecosystem, package name) it affects, so a scan reads the records of the
packages it has and the few records its findings point to (the CVE record behind a Debian advisory).

``containerkit db update`` builds ``<db>/index.sqlite`` after downloading. Any other database (``--db`` with the
user's own directory or zip) is indexed on first use into the cache directory (their directory is left as it is); an
index records a
fingerprint of the files it was built from (path, size, modification time) and is rebuilt when they change.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from containerkit.errors import ScanError

INDEX_FILE = "index.sqlite"
SCHEMA = "1"
#: how many documents go into the index per transaction
_BATCH = 5000


@dataclass
class BuildStats:
    records: int = 0
    #: malformed documents: how many, and the first few (where: why)
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)


def source_files(root: Path) -> list[Path]:
    """The files an index of ``root`` is built from: JSON documents and zips, never the metadata or the index."""
    if root.is_file():
        return [root]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith((".json", ".zip")) and name != "containerkit-db.json":
                out.append(Path(dirpath) / name)
    return out


def fingerprint(root: Path) -> str:
    digest = hashlib.sha256(SCHEMA.encode())
    for path in source_files(root):
        st = path.stat()
        digest.update(
            f"{path.relative_to(root) if root.is_dir() else path.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode()
        )
    return digest.hexdigest()


def location(root: Path, cache_dir: Path) -> Path:
    """Where the index of a database ``db update`` did not index lives: in the cache directory, by its path."""
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return cache_dir / "osv-index" / f"{key}.sqlite"


def is_fresh(index: Path, stamp: str) -> bool:
    """The index exists and was built from files with this fingerprint."""
    if not index.is_file():
        return False
    try:
        with _connect(index) as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
    except sqlite3.Error:
        return False
    return bool(row) and row[0] == stamp


def build(
    documents: Iterable[tuple[str, bytes]],
    index: Path,
    stamp: str,
    keys_of: Callable[[dict[str, object]], set[tuple[str, str]]],
) -> BuildStats:
    """Write the index of ``documents`` (where, raw JSON) to ``index``, atomically (a failed build leaves the old one).

    ``stamp`` is the :func:`fingerprint` of the files the documents come from; ``keys_of`` maps a parsed document to
    its (ecosystem, normalized name) keys.
    """
    stats = BuildStats()
    index.parent.mkdir(parents=True, exist_ok=True)
    part = index.with_name(index.name + f".{os.getpid()}.part")
    part.unlink(missing_ok=True)
    try:
        con = sqlite3.connect(part)
        try:
            con.executescript(
                "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                "CREATE TABLE records (id TEXT PRIMARY KEY, doc BLOB NOT NULL);"
                "CREATE TABLE keys (ecosystem TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL);"
            )
            records: list[tuple[str, bytes]] = []
            keys: list[tuple[str, str, str]] = []
            for where, raw in documents:
                try:
                    doc = json.loads(raw)
                except ValueError as e:
                    _skip(stats, where, f"not JSON ({e})")
                    continue
                if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
                    continue
                if doc.get("withdrawn"):
                    continue
                records.append((doc["id"], zlib.compress(raw, 1)))
                keys.extend((eco, name, doc["id"]) for eco, name in keys_of(doc))
                if len(records) >= _BATCH:
                    _flush(con, records, keys, stats)
            _flush(con, records, keys, stats)
            con.execute("CREATE UNIQUE INDEX keys_by_package ON keys (ecosystem, name, id)")
            con.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("schema", SCHEMA),
                    ("fingerprint", stamp),
                    ("skipped", str(stats.skipped)),
                    ("skipped_examples", json.dumps(stats.skipped_examples)),
                ],
            )
            con.commit()
        finally:
            con.close()
        part.replace(index)
    except (OSError, sqlite3.Error) as e:
        part.unlink(missing_ok=True)
        raise ScanError(
            f"cannot write the vulnerability database index {index}: {e}",
            hint="Check the directory is writable and has space, then run {tool:db_update} again.",
        ) from e
    return stats


def _flush(
    con: sqlite3.Connection, records: list[tuple[str, bytes]], keys: list[tuple[str, str, str]], stats: BuildStats
) -> None:
    # a record id seen twice (a zip and a loose copy) keeps the last one; its keys are the union
    con.executemany("INSERT OR REPLACE INTO records VALUES (?, ?)", records)
    con.executemany("INSERT INTO keys VALUES (?, ?, ?)", keys)
    stats.records += len(records)
    records.clear()
    keys.clear()


def _skip(stats: BuildStats, where: str, why: str) -> None:
    stats.skipped += 1
    if len(stats.skipped_examples) < 5:
        stats.skipped_examples.append(f"{where}: {why}")


def _connect(index: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{index}?mode=ro", uri=True)


class Index:
    """A read-only view of a built index."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con = _connect(path)
        meta = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
        self.skipped = int(meta.get("skipped", "0"))
        self.skipped_examples: list[str] = json.loads(meta.get("skipped_examples", "[]"))

    def close(self) -> None:
        self._con.close()

    def for_packages(self, wanted: set[tuple[str, str]] | None) -> Iterator[tuple[tuple[str, str], str, bytes]]:
        """((ecosystem, name), id, raw JSON) for every wanted key and each record that affects it (every key when
        None); a record that affects two wanted packages comes once for each."""
        if wanted is None:
            rows = self._con.execute(
                "SELECT k.ecosystem, k.name, r.id, r.doc FROM keys k JOIN records r ON r.id = k.id"
            )
        else:
            self._con.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (ecosystem TEXT, name TEXT)")
            self._con.execute("DELETE FROM wanted")
            self._con.executemany("INSERT INTO wanted VALUES (?, ?)", sorted(wanted))
            # CROSS JOIN fixes the order (SQLite keeps it): the few wanted keys first, each looked up in the index;
            # left to the planner, this query scans every key of the database (4× slower at 300,000 records)
            rows = self._con.execute(
                "SELECT k.ecosystem, k.name, r.id, r.doc FROM wanted w "
                "CROSS JOIN keys k ON k.ecosystem = w.ecosystem AND k.name = w.name CROSS JOIN records r ON r.id = k.id"
            )
        for ecosystem, name, vuln_id, doc in rows:
            yield (ecosystem, name), vuln_id, zlib.decompress(doc)

    def holding(self, ecosystems: Iterable[str]) -> set[str]:
        """The ecosystems (``Debian:12``) that have at least one record here (one index lookup each)."""
        query = "SELECT 1 FROM keys WHERE ecosystem = ? LIMIT 1"
        return {eco for eco in set(ecosystems) if self._con.execute(query, (eco,)).fetchone() is not None}

    def count_by(self, family: Callable[[str], str]) -> dict[str, int]:
        """Distinct records per ecosystem family (``Debian`` for ``Debian:12``)."""
        ids: dict[str, set[str]] = {}
        for ecosystem, vuln_id in self._con.execute("SELECT DISTINCT ecosystem, id FROM keys"):
            ids.setdefault(family(ecosystem), set()).add(vuln_id)
        return {name: len(members) for name, members in ids.items()}

    def by_id(self, ids: Iterable[str]) -> dict[str, bytes]:
        wanted = sorted(set(ids))
        out: dict[str, bytes] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for vuln_id, doc in self._con.execute(f"SELECT id, doc FROM records WHERE id IN ({marks})", chunk):  # noqa: S608
                out[vuln_id] = zlib.decompress(doc)
        return out
