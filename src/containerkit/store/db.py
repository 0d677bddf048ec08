"""The store's databases: SQLite (the embedded default) and PostgreSQL (a shared store), behind one interface.

The store's SQL is written once, in the dialect both understand (``?`` placeholders, ``RETURNING``, ``ON CONFLICT``);
:mod:`containerkit.store.postgres` translates the little that differs. Each backend has a connection per thread, short
transactions (``transaction()`` is one writer at a time, as SQLite's ``BEGIN IMMEDIATE`` is) and its own versioned
migrations, numbered alike (:mod:`containerkit.store.schema`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from containerkit.errors import SchemaTooNewError, StoreError
from containerkit.store.schema import MIGRATIONS


class Row(Protocol):
    """A result row: by position and by column name (``dict(row)`` gives the columns)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What the store calls on a connection (sqlite3's, or the PostgreSQL adapter)."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]], /) -> Any: ...


class Database(Protocol):
    """One store database; a connection per thread."""

    #: what the database is, for people: a file path, or a URL without its password
    location: str
    #: the driver's errors: any of them, and a constraint violated (a row deleted by another writer meanwhile)
    errors: tuple[type[Exception], ...]
    integrity_errors: tuple[type[Exception], ...]
    #: called once per process, right after the first connection is made (SessionStore reclaims orphaned work)
    on_open: Callable[[], None] | None

    def connection(self) -> Connection: ...

    def transaction(self, immediate: bool = True) -> AbstractContextManager[Connection]: ...

    def schema_version(self) -> int: ...

    def close(self) -> None: ...


def open_database(location: str | Path, migrations: list[str] | None = None) -> Database:
    """The database at ``location``: a ``postgresql://`` URL, or the path of a SQLite file."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from containerkit.store.postgres import PostgresDatabase

        return PostgresDatabase(text, migrations)
    return SqliteDatabase(Path(location), migrations)


class SqliteDatabase:
    """One SQLite file (WAL); a connection per thread; short transactions."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    integrity_errors: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)

    def __init__(self, path: Path, migrations: list[str] | None = None) -> None:
        self.path = path
        self.location = str(path)
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
