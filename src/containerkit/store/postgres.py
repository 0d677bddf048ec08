"""PostgreSQL as the store's database (``CONTAINERKIT_STORE__URL=postgresql://…``): the shared store of several
processes or hosts, with the same versioned migrations as SQLite (:data:`containerkit.store.schema.PG_MIGRATIONS`).

The store's SQL is written once (SQLite's ``?`` placeholders and a few of its names); :func:`translate` turns it into
PostgreSQL's. A write transaction takes one advisory lock, so writers run one at a time as they do on SQLite (``BEGIN
IMMEDIATE``): the store's read-then-write transactions keep their meaning, and no serialization failure needs a retry.
Readers never wait.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from containerkit.errors import StoreError
from containerkit.redaction import register_secret
from containerkit.store.db import ThreadLocalDatabase, apply_migrations
from containerkit.store.schema import PG_MIGRATIONS

#: the advisory lock every write transaction holds (one writer at a time) and the one migrations hold
_WRITE_LOCK = 0x436B5354  # "CkST"
_MIGRATE_LOCK = 0x436B4D47  # "CkMG"


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """The store's SQL (SQLite's spelling) in PostgreSQL's: ``%s`` placeholders, the ``seq`` column for ``rowid``,
    ``json_agg``/``json_build_object`` for SQLite's JSON aggregates."""
    sql = sql.replace("%", "%%").replace("?", "%s")
    sql = re.sub(r"\browid\b", "seq", sql)
    sql = sql.replace("json_group_array(", "json_agg(").replace("json_object(", "json_build_object(")
    return re.sub(r"\bjson\((\w+)\)", r"(\1)::json", sql)


class PgRow(tuple[Any, ...]):
    """A row readable by position and by column name, as :class:`sqlite3.Row` is."""

    names: tuple[str, ...]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self.names.index(key))
            except ValueError:
                raise IndexError(f"no column {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    names = tuple(c.name for c in cursor.description or ())

    def make(values: Sequence[Any]) -> PgRow:
        row = PgRow(values)
        row.names = names
        return row

    return make


class _Connection:
    """A psycopg connection (autocommit) that speaks the store's SQL."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        if sql == "BEGIN IMMEDIATE":  # the store's "a write transaction starts here": one round trip for both
            return self.raw.execute(f"BEGIN; SELECT pg_advisory_xact_lock({_WRITE_LOCK})")
        return self.raw.execute(translate(sql), parameters)

    def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]], /) -> Any:
        with self.raw.cursor() as cur:
            cur.executemany(translate(sql), seq_of_parameters)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return bool(self.raw.info.transaction_status != TransactionStatus.IDLE)


def shown(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresDatabase(ThreadLocalDatabase[_Connection]):
    """One PostgreSQL database; a connection per thread."""

    def __init__(self, url: str, migrations: list[str] | None = None) -> None:
        try:
            import psycopg
        except ImportError as e:
            raise StoreError(
                "the session store URL names PostgreSQL, and the psycopg driver is not installed",
                hint="Install it with `pip install 'containerkit[postgres]'` (psycopg[binary]).",
            ) from e
        super().__init__(shown(url), PG_MIGRATIONS if migrations is None else migrations)
        self._psycopg = psycopg
        self.url = url
        register_secret(urlsplit(url).password)
        self.errors = (psycopg.Error,)
        self.integrity_errors = (psycopg.errors.IntegrityError,)
        self._all: list[Any] = []  # every thread's connection, closed together
        self._all_lock = threading.Lock()

    def _connect(self) -> Any:
        psycopg = self._psycopg
        from psycopg.types.string import TextLoader

        try:
            raw = psycopg.connect(self.url, autocommit=True, row_factory=_row_factory, connect_timeout=10)
        except psycopg.Error as e:
            raise StoreError(
                f"cannot connect to the session store {self.location}: {str(e).strip()}",
                hint="Check CONTAINERKIT_STORE__URL: the server, database, user and password.",
            ) from e
        for json_type in ("json", "jsonb"):  # JSON comes back as text, as SQLite gives it
            raw.adapters.register_loader(json_type, TextLoader)
        with self._all_lock:
            self._all.append(raw)
        return raw

    def _open(self) -> _Connection:
        return _Connection(self._connect())

    def _usable(self, conn: _Connection) -> bool:
        return not conn.raw.closed

    def _migrate(self) -> None:
        raw = self._connect()
        try:
            with raw.transaction():
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))  # processes starting together
                apply_migrations(_Connection(raw), self.migrations, self.location, raw.execute)
        except self._psycopg.Error as e:
            raise StoreError(f"cannot migrate session store {self.location}: {str(e).strip()}") from e
        finally:
            raw.close()

    def close(self) -> None:
        with self._all_lock:
            for raw in self._all:
                raw.close()
            self._all.clear()
        self._local = threading.local()
