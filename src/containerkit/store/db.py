"""The store's databases: SQLite (the embedded default) and PostgreSQL (a shared store), behind one interface.

The store's SQL is written once, in the dialect both understand (``?`` placeholders, ``RETURNING``, ``ON CONFLICT``);
:mod:`containerkit.store.postgres` translates the little that differs. Each backend has a connection per thread, short
transactions (``transaction()`` is one writer at a time, as SQLite's ``BEGIN IMMEDIATE`` is) and its own versioned
migrations, numbered alike (:mod:`containerkit.store.schema`).
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

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


class _ThreadConnection(Connection, Protocol):
    @property
    def in_transaction(self) -> bool: ...


C = TypeVar("C", bound=_ThreadConnection)


class ThreadLocalDatabase(ABC, Generic[C]):
    """What both backends share: a connection per thread, the migrations run once per process before the first one,
    ``on_open`` after it, and transactions. A backend opens a connection (``_open``), runs the migrations
    (``_migrate``, with :func:`apply_migrations`) and says whether a connection is still usable (``_usable``)."""

    errors: tuple[type[Exception], ...]
    integrity_errors: tuple[type[Exception], ...]

    def __init__(self, location: str, migrations: list[str]) -> None:
        self.location = location
        self.migrations = migrations
        self._local = threading.local()
        self._migrated = False
        self._lock = threading.Lock()
        #: called once per process, right after the first connection is made (SessionStore reclaims orphaned work)
        self.on_open: Callable[[], None] | None = None

    @abstractmethod
    def _open(self) -> C:
        """A new connection for this thread."""

    @abstractmethod
    def _migrate(self) -> None:
        """Run the migrations (once per process, before the first connection)."""

    def _usable(self, conn: C) -> bool:
        return True

    def connection(self) -> C:
        conn: C | None = getattr(self._local, "conn", None)
        if conn is None or not self._usable(conn):
            first = False
            if not self._migrated:
                with self._lock:
                    if not self._migrated:
                        self._migrate()
                        self._migrated = first = True
            conn = self._open()
            self._local.conn = conn
            if first and self.on_open is not None:
                self.on_open()
        return conn

    def schema_version(self) -> int:
        row = self.connection().execute("SELECT version FROM schema_version").fetchone()
        return int(row[0])

    def transaction(self, immediate: bool = True) -> AbstractContextManager[C]:
        return transaction_on(self.connection(), immediate)


@contextmanager
def transaction_on(conn: C, immediate: bool = True) -> Iterator[C]:
    """One transaction on ``conn``: committed at the end, rolled back on any exception (``immediate``: a write
    transaction, which waits for the other writers)."""
    try:
        conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def apply_migrations(conn: Connection, migrations: list[str], location: str, run: Callable[[str], object]) -> None:
    """Bring ``schema_version`` up to ``len(migrations)`` in the caller's transaction, ``run`` executing each
    migration script; a database newer than ``migrations`` is refused."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    current = int(row[0]) if row else 0
    target = len(migrations)
    if current > target:
        raise SchemaTooNewError(
            f"session store {location} has schema version {current}, this Container Kit understands up to {target}"
        )
    for index in range(current, target):
        run(migrations[index])
    if row is None:
        conn.execute("INSERT INTO schema_version(version) VALUES (?)", (target,))
    else:
        conn.execute("UPDATE schema_version SET version = ?", (target,))


class SqliteDatabase(ThreadLocalDatabase[sqlite3.Connection]):
    """One SQLite file (WAL); a connection per thread; short transactions."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    integrity_errors: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)

    def __init__(self, path: Path, migrations: list[str] | None = None) -> None:
        super().__init__(str(path), MIGRATIONS if migrations is None else migrations)
        self.path = path

    def _open(self) -> sqlite3.Connection:
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

    def _migrate(self) -> None:
        conn = self._open()

        def run(script: str) -> None:
            for statement in _split(script):
                conn.execute(statement)

        try:
            with transaction_on(conn):
                apply_migrations(conn, self.migrations, self.location, run)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot migrate session store {self.path}: {e}") from e
        finally:
            conn.close()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
