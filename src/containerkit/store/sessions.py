"""The session store: sessions, state documents, jobs, errors, artifacts, expiry.

Synchronous, with short transactions, on SQLite or PostgreSQL (:mod:`containerkit.store.db`). Session state is a
JSON document with a version number: :meth:`SessionStore.update_state` applies a function under an optimistic version
check and retries on conflict, so concurrent writers never lose an update.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from pydantic import TypeAdapter

from containerkit import metrics
from containerkit.errors import (
    ConflictError,
    ContainerKitError,
    InterruptedError_,
    NotFoundError,
    QuotaExceededError,
    SessionExpiredError,
    StoreError,
)
from containerkit.redaction import redact, redact_data, redact_strings
from containerkit.store import owner
from containerkit.store.db import Connection, Database, Row, SqliteDatabase
from containerkit.store.objects import ObjectStore
from containerkit.store.records import (
    ArtifactInfo,
    ErrorRecord,
    JobRecord,
    JobStatus,
    SessionDetail,
    SessionInfo,
    StoreCounts,
)
from containerkit.store.runs import RunStore

_JOB_COLUMNS = (
    "id",
    "session_id",
    "tool",
    "status",
    "queued_at",
    "started_at",
    "ended_at",
    "duration_ms",
    "error_code",
    "error_message",
)
_JOB_JSON = ", ".join(f"'{c}', {c}" for c in _JOB_COLUMNS) + ", 'params', json(params)"
_JOB_SELECT = ", ".join((*_JOB_COLUMNS, "params", "owner"))
_JOBS = TypeAdapter(list[JobRecord])
_ARTIFACT_COLS = "id, session_id, job_id, kind, name, media_type, path, digest, size, created_at"
_TEXT_TYPES = ("text/", "application/json", "application/yaml", "application/sarif", "application/vnd.cyclonedx")
StateUpdate = Callable[[dict[str, Any]], dict[str, Any] | None]
#: a session's summary; its state's top-level keys listed by the database (a state of many kilobytes is not parsed on
#: every tool call for them)
_SESSION_COLS = (
    "id, created_at, last_access, expires_at, workspace_dir, labels, version, "
    "(SELECT COALESCE(json_group_array(key), '[]') FROM json_each(json(state))) AS state_keys"
)
_SELECT_ONE = f"SELECT {_SESSION_COLS} FROM sessions WHERE id = ?"  # noqa: S608 - constant column list
#: finished jobs' records kept per process for listings (they never change); the whole set is dropped when full
FINISHED_JOBS_KEPT = 4096
_FINISHED = frozenset(("succeeded", "failed", "cancelled"))
#: a session used again within this many seconds is not touched again by a new job (one commit less per call)
TOUCH_EVERY_S = 1.0

log = logging.getLogger("containerkit.store")


@dataclass
class PendingJob:
    """A tracked call's job before its row is written (:meth:`SessionStore.defer_job`)."""

    id: str
    session_id: str
    tool: str
    params_json: str
    started_at: float
    written: bool = False


def open_database(location: str | Path, migrations: list[str] | None = None) -> Database:
    """The database at ``location``: a ``postgresql://`` URL, or the path of a SQLite file (here, not in db.py, so
    that the backends' module and PostgreSQL's do not import each other)."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from containerkit.store.postgres import PostgresDatabase

        return PostgresDatabase(text, migrations)
    return SqliteDatabase(Path(location), migrations)


def _new_id() -> str:
    return os.urandom(8).hex()  # 64 random bits, as 16 hex digits (uuid4's version digit left 60)


def _session_info(row: Row) -> SessionInfo:
    return SessionInfo(**_session_fields(row))


def _session_fields(row: Row) -> dict[str, Any]:
    return dict(
        id=row["id"],
        created_at=row["created_at"],
        last_access=row["last_access"],
        expires_at=row["expires_at"],
        workspace_dir=row["workspace_dir"],
        labels=json.loads(row["labels"]),
        version=row["version"],
        state_keys=sorted(json.loads(row["state_keys"])),
    )


P = ParamSpec("P")
R = TypeVar("R")


def _timed(fn: Callable[P, R]) -> Callable[P, R]:
    """Time a store operation into the metrics (``containerkit_store_operation_duration_seconds``) while they are
    on; the method's name is the ``operation`` label."""
    operation = fn.__name__

    @functools.wraps(fn)
    def timed(*args: P.args, **kwargs: P.kwargs) -> R:
        if not metrics.enabled():
            return fn(*args, **kwargs)
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            metrics.store_operation(operation, time.perf_counter() - started)

    return timed


class SessionStore:
    """All persistent session data. Constructing it does no I/O."""

    def __init__(
        self,
        location: Path | str,
        workspace_root: Path,
        *,
        ttl_s: float = 24 * 3600,
        max_sessions: int = 100,
        disk_quota_bytes: int = 512 * 1024 * 1024,
        clock: Callable[[], float] = time.time,
        migrations: list[str] | None = None,
        artifacts_url: str | None = None,
        object_min_bytes: int = 64 * 1024,
    ) -> None:
        self.db = open_database(location, migrations)
        self.db.on_open = self._reclaim_on_open
        self.runs = RunStore(self.db, clock)
        #: the database, for people (a file path, or a URL without its password)
        self.location = self.db.location
        self.workspace_root = workspace_root
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self.disk_quota_bytes = disk_quota_bytes
        self.clock = clock
        #: large artifacts go to an S3-compatible store (the row keeps the digest and the object's URL)
        self.objects = ObjectStore(artifacts_url) if artifacts_url else None
        self.object_min_bytes = object_min_bytes
        self._finished_jobs: dict[str, JobRecord] = {}

    # --- sessions ---------------------------------------------------------------
    @_timed
    def create_session(self, labels: list[str] | None = None, session_id: str | None = None) -> SessionInfo:
        now = self.clock()
        sid = session_id or _new_id()
        workspace = self.workspace_root / sid
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO sessions(id, created_at, last_access, expires_at, workspace_dir, labels) VALUES "
                "(?,?,?,?,?,?)",
                (sid, now, now, now + self.ttl_s, str(workspace), json.dumps(sorted(set(labels or [])))),
            )
            evicted = self._evict_lru(conn, keep=sid)
        self._remove_workspaces(evicted)
        workspace.mkdir(parents=True, exist_ok=True)
        return self.session_info(sid)

    def _evict_lru(self, conn: Connection, keep: str) -> list[tuple[str, str]]:
        """Over the cap, remove sessions that hold nothing first (no state, labels, artifacts or runs), then the least
        recently used (never ``keep``, the one being created). A session with a running or resumable (failed, cancelled,
        interrupted) workflow run is never
        evicted: the store goes over the cap instead, and says so in the log."""
        (count,) = conn.execute("SELECT COUNT(*) FROM sessions").fetchone()
        excess = count - self.max_sessions
        if excess <= 0:
            return []
        rows = conn.execute(
            """SELECT s.id, s.workspace_dir FROM sessions s
               WHERE s.id != ? AND NOT EXISTS (
                   SELECT 1 FROM workflow_runs r WHERE r.session_id = s.id AND r.status != 'succeeded')
               ORDER BY (s.state != '{}' OR s.labels != '[]'
                         OR EXISTS (SELECT 1 FROM artifacts a WHERE a.session_id = s.id)
                         OR EXISTS (SELECT 1 FROM workflow_runs r WHERE r.session_id = s.id)) ASC,
                        s.last_access ASC
               LIMIT ?""",
            (keep, excess),
        ).fetchall()
        if len(rows) < excess:
            log.warning(
                "%d sessions over max_sessions=%d are kept: their workflow runs can still be resumed",
                excess - len(rows),
                self.max_sessions,
            )
        return self._delete_rows(conn, rows, "evicted: more than max_sessions")

    def _delete_rows(self, conn: Connection, rows: list[Row], reason: str) -> list[tuple[str, str]]:
        now = self.clock()
        gone = []
        for row in rows:
            conn.execute(
                "INSERT INTO removed_runs(id, session_id, name, status, removed_at, reason)"
                " SELECT id, session_id, name, status, ?, ? FROM workflow_runs WHERE session_id = ?"
                " ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, name = excluded.name,"
                " status = excluded.status, removed_at = excluded.removed_at, reason = excluded.reason",
                (now, f"removed with its session {row['id']} ({reason})", row["id"]),
            )
            conn.execute("DELETE FROM sessions WHERE id = ?", (row["id"],))
            conn.execute(
                "INSERT INTO expired_sessions(id, expired_at, reason) VALUES (?,?,?)"
                " ON CONFLICT (id) DO UPDATE SET expired_at = excluded.expired_at, reason = excluded.reason",
                (row["id"], now, reason),
            )
            gone.append((row["id"], row["workspace_dir"]))
        return gone

    def _remove_workspaces(self, gone: list[tuple[str, str]]) -> None:
        for _, workspace in gone:
            shutil.rmtree(workspace, ignore_errors=True)

    def _missing(self, conn: Connection, session_id: str) -> ContainerKitError:
        row = conn.execute("SELECT expired_at, reason FROM expired_sessions WHERE id = ?", (session_id,)).fetchone()
        if row is not None:
            return SessionExpiredError(
                f"session {session_id} has expired ({row['reason']})", details={"session_id": session_id}
            )
        return NotFoundError(
            f"no session {session_id!r}",
            hint="List sessions with {tool:list_sessions}, or omit the session id to start a new one.",
            details={"session_id": session_id},
        )

    def touch(self, session_id: str) -> SessionInfo:
        """Mark a session used now (extends its expiry).

        Raises:
            SessionExpiredError: the session expired or was evicted.
            NotFoundError: no such session ever existed here.
        """
        now = self.clock()
        with self.db.transaction() as conn:
            row = self._touch_row(conn, session_id, now)
        return _session_info(row)

    def _touch_row(self, conn: Connection, session_id: str, now: float) -> Row:
        row = conn.execute(_SELECT_ONE, (session_id,)).fetchone()
        if row is None:
            raise self._missing(conn, session_id)
        if row["expires_at"] < now:
            gone = self._delete_rows(conn, [row], "expired: TTL passed")
            conn.execute("COMMIT")
            conn.execute("BEGIN IMMEDIATE")
            self._remove_workspaces(gone)
            raise self._missing(conn, session_id)
        conn.execute(
            "UPDATE sessions SET last_access = ?, expires_at = ? WHERE id = ?", (now, now + self.ttl_s, session_id)
        )
        return cast(Row, row)

    def session_info(self, session_id: str) -> SessionInfo:
        conn = self.db.connection()
        row = conn.execute(_SELECT_ONE, (session_id,)).fetchone()
        if row is None or row["expires_at"] < self.clock():
            raise self._missing(conn, session_id)
        return _session_info(row)

    @_timed
    def get_session(self, session_id: str) -> SessionDetail:
        conn = self.db.connection()
        row = conn.execute(
            f"SELECT {_SESSION_COLS}, state FROM sessions WHERE id = ?",  # noqa: S608 - constant column list
            (session_id,),
        ).fetchone()
        if row is None or row["expires_at"] < self.clock():
            raise self._missing(conn, session_id)
        return SessionDetail(**_session_fields(row), state=json.loads(row["state"]))

    def list_sessions(self, label: str | None = None) -> list[SessionInfo]:
        rows = (
            self.db.connection()
            .execute(
                f"SELECT {_SESSION_COLS} FROM sessions WHERE expires_at >= ? ORDER BY last_access DESC",  # noqa: S608
                (self.clock(),),
            )
            .fetchall()
        )
        infos = [_session_info(r) for r in rows]
        return [i for i in infos if label is None or label in i.labels]

    def delete_session(self, session_id: str) -> None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT id, workspace_dir FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise self._missing(conn, session_id)
            gone = self._delete_rows(conn, [row], "deleted")
        self._remove_workspaces(gone)

    def set_labels(self, session_id: str, add: list[str] | None = None, remove: list[str] | None = None) -> SessionInfo:
        def change(conn: Connection, row: Row) -> None:
            labels = set(json.loads(row["labels"])) | set(add or [])
            labels -= set(remove or [])
            conn.execute("UPDATE sessions SET labels = ? WHERE id = ?", (json.dumps(sorted(labels)), session_id))

        with self.db.transaction() as conn:
            change(conn, self._touch_row(conn, session_id, self.clock()))
        return self.session_info(session_id)

    # --- state document -----------------------------------------------------------
    @_timed
    def get_state(self, session_id: str) -> tuple[dict[str, Any], int]:
        detail = self.get_session(session_id)
        return detail.state, detail.version

    def update_state(self, session_id: str, update: StateUpdate, *, attempts: int = 200) -> int:
        """Apply ``update`` to the state document; retried on version conflicts.

        ``update`` receives a copy of the state and returns the new document (or
        mutates it in place and returns None). Returns the new version.

        Raises:
            ConflictError: still conflicting after ``attempts`` tries.
        """
        conn = self.db.connection()
        for attempt in range(attempts):
            row = conn.execute("SELECT state, version, expires_at FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise self._missing(conn, session_id)
            state = json.loads(row["state"])
            new_state = update(state)
            if new_state is None:
                new_state = state
            cur = conn.execute(
                "UPDATE sessions SET state = ?, version = version + 1, last_access = ? WHERE id = ? AND version = ?",
                (json.dumps(new_state, default=str), self.clock(), session_id, row["version"]),
            )
            if cur.rowcount == 1:
                return int(row["version"]) + 1
            time.sleep(min(0.001 * (attempt + 1), 0.02))
        raise ConflictError(f"session {session_id} state kept changing; gave up after {attempts} attempts")

    @_timed
    def put_state(self, session_id: str, key: str, value: Any) -> int:
        clean = redact_strings(value)  # a secret in a build step or a result never reaches the stored state

        def setter(state: dict[str, Any]) -> None:
            state[key] = clean

        return self.update_state(session_id, setter)

    # --- jobs -----------------------------------------------------------------------
    @_timed
    def begin_job(self, session_id: str | None, tool: str, params: dict[str, Any]) -> tuple[SessionInfo, str]:
        """Resolve (or create) the session, extend its expiry and record a running job (:meth:`defer_job`, then
        :meth:`write_pending`)."""
        info, job = self._defer_job(session_id, tool, params)
        self.write_pending(job)
        return info, job.id

    @_timed
    def defer_job(self, session_id: str | None, tool: str, params: dict[str, Any]) -> tuple[SessionInfo, PendingJob]:
        """Resolve (or create) the session and extend its expiry for a job written later: a read-only call is
        recorded once, when it ends (:meth:`end_job` with ``pending``), unless it runs long enough to be written as
        running (:meth:`write_pending`).

        The hot path of every tracked call: one read of the session, and the touch only when the session was last
        used more than :data:`TOUCH_EVERY_S` ago (its expiry moves at most that late).

        Raises:
            SessionExpiredError: the session expired or was evicted.
            NotFoundError: no such session ever existed here.
        """
        return self._defer_job(session_id, tool, params)

    def _defer_job(self, session_id: str | None, tool: str, params: dict[str, Any]) -> tuple[SessionInfo, PendingJob]:
        if session_id is None:
            session_id = self.create_session().id
        now = self.clock()
        row = self.db.connection().execute(_SELECT_ONE, (session_id,)).fetchone()
        if row is None or row["expires_at"] < now:
            info = self.touch(session_id)  # raises SESSION_EXPIRED / NOT_FOUND (unless it came back meanwhile)
        else:
            if now - row["last_access"] >= min(TOUCH_EVERY_S, self.ttl_s / 100):
                self.db.connection().execute(
                    "UPDATE sessions SET last_access = ?, expires_at = ? WHERE id = ?",
                    (now, now + self.ttl_s, session_id),
                )
            info = _session_info(row)
        params_json = json.dumps(redact_data(params), default=str)
        return info, PendingJob(_new_id(), session_id, tool, params_json, now)

    def write_pending(self, job: PendingJob) -> None:
        """Write a deferred job as running (once). Its session may have been deleted since (by another process):
        then the precise error.

        Raises:
            SessionExpiredError, NotFoundError: the session is gone.
        """
        if job.written:
            return
        added = (
            self.db.connection()
            .execute(
                "INSERT INTO jobs(id, session_id, tool, params, status, queued_at, started_at, owner)"
                " SELECT ?, ?, ?, ?, 'running', ?, ?, ? WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?)",
                (
                    job.id,
                    job.session_id,
                    job.tool,
                    job.params_json,
                    job.started_at,
                    job.started_at,
                    owner.current(),
                    job.session_id,
                ),
            )
            .rowcount
        )
        if not added:
            self.touch(job.session_id)  # raises: the session is gone
        job.written = bool(added)  # else (it came back meanwhile) the job's end writes it whole

    @_timed
    def end_job(
        self,
        job_id: str,
        status: JobStatus,
        error: ContainerKitError | None = None,
        tool: str | None = None,
        pending: PendingJob | None = None,
    ) -> None:
        """Record how a job ended: its row updated, or written whole for a ``pending`` job never written as running
        (one statement; a session deleted meanwhile leaves no row); an error also goes to the session's errors."""
        now = self.clock()
        message = redact(error.message) if error else None
        code = error.code if error else None
        if pending is not None and not pending.written:
            statement = (
                "INSERT INTO jobs(id, session_id, tool, params, status, queued_at, started_at, ended_at, duration_ms,"
                " error_code, error_message, owner)"
                " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?)"
            )
            started = pending.started_at
            args: tuple[Any, ...] = (
                job_id,
                pending.session_id,
                pending.tool,
                pending.params_json,
                status,
                started,
                started,
                now,
                (now - started) * 1000,
                code,
                message,
                owner.current(),
                pending.session_id,
            )
        else:
            statement = (
                "UPDATE jobs SET status = ?, ended_at = ?, duration_ms = (? - started_at) * 1000, error_code = ?, "
                "error_message = ?"
                " WHERE id = ?"
            )
            args = (status, now, now, code, message, job_id)
        if error is None:
            self.db.connection().execute(statement, args)
            return
        with self.db.transaction() as conn:
            conn.execute(statement, args)
            conn.execute(
                "INSERT INTO errors(session_id, job_id, tool, code, message, hint, details, created_at)"
                " SELECT session_id, id, ?, ?, ?, ?, ?, ? FROM jobs WHERE id = ?",
                (
                    tool,
                    error.code,
                    message,
                    redact(error.hint),
                    json.dumps(redact_data(error.details), default=str),
                    now,
                    job_id,
                ),
            )

    def get_job(self, job_id: str) -> JobRecord:
        conn = self.db.connection()
        row = conn.execute(f"SELECT {_JOB_SELECT} FROM jobs WHERE id = ?", (job_id,)).fetchone()  # noqa: S608
        if row is None:
            raise NotFoundError(f"no job {job_id!r}", hint="Job ids are printed by every tool result (job_id).")
        return JobRecord(**{**dict(row), "params": json.loads(row["params"])})

    def list_jobs(self, session_id: str, limit: int = 200) -> list[JobRecord]:
        """The session's jobs, most recent first. The hot path of get_session: a finished job never changes, so its
        record is kept per process by id (:data:`FINISHED_JOBS_KEPT`) and the listing reads only the ids; the others
        are built as one JSON document by the database and validated in pydantic-core."""
        conn = self.db.connection()
        ids = [
            row["id"]
            for row in conn.execute(
                "SELECT id FROM jobs WHERE session_id = ? ORDER BY queued_at DESC, rowid DESC LIMIT ?",
                (session_id, limit),
            ).fetchall()
        ]
        kept = self._finished_jobs
        records: dict[str, JobRecord] = {}
        wanted = []
        for job_id in ids:
            record = kept.get(job_id)  # one read each: another thread may empty the dict meanwhile
            if record is None:
                wanted.append(job_id)
            else:
                records[job_id] = record
        if wanted:
            (doc,) = conn.execute(
                f"SELECT COALESCE(json_group_array(json_object({_JOB_JSON})), '[]') "  # noqa: S608 - constant columns
                f"FROM jobs WHERE id IN ({', '.join('?' * len(wanted))})",
                wanted,
            ).fetchone()
            if len(kept) + len(wanted) > FINISHED_JOBS_KEPT:
                kept.clear()
            for job in _JOBS.validate_json(doc):
                records[job.id] = job
                if job.status in _FINISHED:
                    kept[job.id] = job
        # a job deleted between the two reads (its session was) is left out
        return [records[job_id] for job_id in ids if job_id in records]

    def list_errors(self, session_id: str, limit: int = 100) -> list[ErrorRecord]:
        rows = (
            self.db.connection()
            .execute("SELECT * FROM errors WHERE session_id = ? ORDER BY id DESC LIMIT ?", (session_id, limit))
            .fetchall()
        )
        return [ErrorRecord(**{**dict(r), "details": json.loads(r["details"])}) for r in rows]

    def record_error(
        self, session_id: str, error: ContainerKitError, job_id: str | None = None, tool: str | None = None
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO errors(session_id, job_id, tool, code, message, hint, details, created_at) VALUES "
                "(?,?,?,?,?,?,?,?)",
                (
                    session_id,
                    job_id,
                    tool,
                    error.code,
                    redact(error.message),
                    redact(error.hint),
                    json.dumps(redact_data(error.details), default=str),
                    self.clock(),
                ),
            )

    # --- artifacts ------------------------------------------------------------------
    def usage_bytes(self, session_id: str, workspace_dir: str | None = None) -> int:
        (inline,) = (
            self.db.connection()
            .execute(
                "SELECT COALESCE(SUM(size), 0) FROM artifacts WHERE session_id = ?"
                " AND (path IS NULL OR path LIKE 's3://%')",
                (session_id,),
            )
            .fetchone()
        )
        workspace = Path(workspace_dir) if workspace_dir else self.workspace_root / session_id
        on_disk = (
            sum(f.stat().st_size for f in workspace.rglob("*") if f.is_file() and not f.is_symlink())
            if workspace.exists()
            else 0
        )
        return int(inline) + on_disk

    @_timed
    def add_artifact(
        self,
        session_id: str,
        kind: str,
        name: str,
        content: bytes | str,
        *,
        media_type: str = "text/plain",
        job_id: str | None = None,
        path: Path | None = None,
    ) -> ArtifactInfo:
        """Store an artifact inline (or record a file path). Enforces the session disk quota.

        Raises:
            QuotaExceededError: the session would exceed its disk quota.
        """
        data = content.encode("utf-8") if isinstance(content, str) else content
        if path is None and media_type.startswith(_TEXT_TYPES):
            data = redact(data.decode("utf-8", "replace")).encode("utf-8")
        used = self.usage_bytes(session_id)
        if path is None and used + len(data) > self.disk_quota_bytes:
            raise QuotaExceededError(
                f"session {session_id} would use {used + len(data)} bytes, over its quota of {self.disk_quota_bytes}",
                details={"used": used, "adding": len(data), "quota": self.disk_quota_bytes},
            )
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        stored_at = str(path) if path else None
        if path is None and self.objects is not None and len(data) >= self.object_min_bytes:
            stored_at = self.objects.put(data, digest)
        info = ArtifactInfo(
            id=_new_id(),
            session_id=session_id,
            job_id=job_id,
            kind=kind,
            name=name,
            media_type=media_type,
            path=stored_at,
            digest=digest,
            size=len(data),
            created_at=self.clock(),
        )
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO artifacts(id, session_id, job_id, kind, name, media_type, content, path, digest, "
                    "size, created_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        info.id,
                        session_id,
                        job_id,
                        kind,
                        name,
                        media_type,
                        None if stored_at else data,
                        info.path,
                        info.digest,
                        info.size,
                        info.created_at,
                    ),
                )
        except self.db.integrity_errors as e:
            raise self._missing(self.db.connection(), session_id) from e
        return info

    def list_artifacts(self, session_id: str, kind: str | None = None) -> list[ArtifactInfo]:
        sql = f"SELECT {_ARTIFACT_COLS} FROM artifacts WHERE session_id = ?"  # noqa: S608 - constant columns
        args: list[Any] = [session_id]
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        rows = self.db.connection().execute(sql + " ORDER BY created_at DESC, rowid DESC", args).fetchall()
        return [ArtifactInfo(**dict(r)) for r in rows]

    def get_artifact(self, artifact_id: str) -> tuple[ArtifactInfo, bytes]:
        row = (
            self.db.connection()
            .execute(f"SELECT {_ARTIFACT_COLS}, content FROM artifacts WHERE id = ?", (artifact_id,))  # noqa: S608
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"no artifact {artifact_id!r}")
        data = dict(row)
        content = data.pop("content")
        info = ArtifactInfo(**data)
        if content is None and info.path and info.path.startswith("s3://"):
            if self.objects is None:
                raise StoreError(
                    f"artifact {artifact_id} is in the object store {info.path}, and store.artifacts_url is not set",
                    hint="Set CONTAINERKIT_STORE__ARTIFACTS_URL to the store the artifacts were written to.",
                )
            content = self.objects.get(info.path, info.digest)
        elif content is None and info.path:
            try:
                content = Path(info.path).read_bytes()
            except OSError as e:
                raise StoreError(f"artifact file {info.path} is unreadable: {e}") from e
        return info, bytes(content or b"")

    def latest_artifact(self, session_id: str, kind: str) -> tuple[ArtifactInfo, bytes] | None:
        found = self.list_artifacts(session_id, kind)
        return self.get_artifact(found[0].id) if found else None

    # --- maintenance ------------------------------------------------------------------
    def _reclaim_on_open(self) -> None:
        try:
            self.reclaim()
        except Exception as e:
            if not isinstance(e, (StoreError, *self.db.errors)):
                raise
            # a database error here never stops the call that opened the store
            log.warning("could not check for jobs left running by a killed process: %s", e)

    def reclaim(self) -> int:
        """Jobs and workflow runs still marked queued/running whose process is gone (killed, crashed) are marked failed
        (runs stay resumable) with the reason. Runs on first use of the store in every process and on resume.
        Returns how many jobs were reclaimed."""
        conn = self.db.connection()
        jobs = [
            r
            for r in conn.execute("SELECT id, tool, owner FROM jobs WHERE status IN ('queued', 'running')").fetchall()
            if owner.gone(r["owner"])
        ]
        for r in jobs:
            pid = owner.pid_of(r["owner"])
            self.end_job(
                r["id"],
                "failed",
                InterruptedError_(
                    f"{r['tool']} never finished: the process that ran it{f' (pid {pid})' if pid is not None else ''} "
                    "is gone "
                    "(killed or crashed)"
                ),
                tool=r["tool"],
            )
        self.runs.reclaim()
        if jobs:
            log.info("marked %d job(s) failed: their process is gone", len(jobs))
        return len(jobs)

    def sweep(self) -> list[str]:
        """Remove expired sessions and their workspaces. Returns the removed ids."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT id, workspace_dir FROM sessions WHERE expires_at < ?", (self.clock(),)
            ).fetchall()
            gone = self._delete_rows(conn, rows, "expired: TTL passed")
        self._remove_workspaces(gone)
        return [sid for sid, _ in gone]

    def active_sessions(self) -> int:
        """Sessions not expired (expired ones wait for the clean-up)."""
        row = self.db.connection().execute("SELECT COUNT(*) FROM sessions WHERE expires_at >= ?", (self.clock(),))
        return int(row.fetchone()[0])

    def counts(self) -> StoreCounts:
        conn = self.db.connection()

        def one(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        return StoreCounts(
            sessions=one("SELECT COUNT(*) FROM sessions"),
            jobs=one("SELECT COUNT(*) FROM jobs"),
            running_jobs=one("SELECT COUNT(*) FROM jobs WHERE status = 'running'"),
            artifacts=one("SELECT COUNT(*) FROM artifacts"),
            errors=one("SELECT COUNT(*) FROM errors"),
        )

    def close(self) -> None:
        self.db.close()
