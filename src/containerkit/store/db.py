"""SQLite connection handling: WAL mode, per-thread connections, migrations."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from containerkit.errors import SchemaTooNewError, StoreError
from containerkit.store.schema import MIGRATIONS


class Database:
    """One SQLite file; a connection per thread; short transactions."""

    def __init__(self, path: Path, migrations: list[str] | None = None) -> None:
        self.path = path
        self.migrations = MIGRATIONS if migrations is None else migrations
        self._local = threading.local()
        self._migrated = False
        self._lock = threading.Lock()
        #: called once per process, right after the first connection is made (SessionStore reclaims orphaned work)
        self.on_open: Callable[[], None] | None = None

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            first = False
            if not self._migrated:
                with self._lock:
                    if not self._migrated:
                        self._open_and_migrate()
                        self._migrated = first = True
            conn = self._connect()
            self._local.conn = conn
            if first and self.on_open is not None:
                self.on_open()
        return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            return conn
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open session store {self.path}: {e}") from e

    def _open_and_migrate(self) -> None:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            current = int(row[0]) if row else 0
            target = len(self.migrations)
            if current > target:
                conn.execute("ROLLBACK")
                raise SchemaTooNewError(
                    f"session store {self.path} has schema version {current}, "
                    f"this Container Kit understands up to {target}"
                )
            for index in range(current, target):
                for statement in _split(self.migrations[index]):
                    conn.execute(statement)
            if row is None:
                conn.execute("INSERT INTO schema_version(version) VALUES (?)", (target,))
            else:
                conn.execute("UPDATE schema_version SET version = ?", (target,))
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"cannot migrate session store {self.path}: {e}") from e
        finally:
            conn.close()

    def schema_version(self) -> int:
        row = self.connection().execute("SELECT version FROM schema_version").fetchone()
        return int(row[0])

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
