"""Versioned schema migrations for the session store.

Each entry of :data:`MIGRATIONS` moves the schema from version ``i`` to ``i+1``.
Append new migrations; never edit an old one.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: sessions, jobs, errors, artifacts, expiry tombstones
    """
    CREATE TABLE sessions (
        id            TEXT PRIMARY KEY,
        created_at    REAL NOT NULL,
        last_access   REAL NOT NULL,
        expires_at    REAL NOT NULL,
        workspace_dir TEXT NOT NULL,
        labels        TEXT NOT NULL DEFAULT '[]',
        state         TEXT NOT NULL DEFAULT '{}',
        version       INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_last_access ON sessions(last_access);
    CREATE INDEX sessions_expires_at ON sessions(expires_at);
    CREATE TABLE jobs (
        id            TEXT PRIMARY KEY,
        session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        tool          TEXT NOT NULL,
        params        TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')),
        queued_at     REAL NOT NULL,
        started_at    REAL,
        ended_at      REAL,
        duration_ms   REAL,
        error_code    TEXT,
        error_message TEXT
    );
    CREATE INDEX jobs_session ON jobs(session_id, queued_at);
    CREATE TABLE errors (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        job_id      TEXT,
        tool        TEXT,
        code        TEXT NOT NULL,
        message     TEXT NOT NULL,
        hint        TEXT NOT NULL,
        details     TEXT NOT NULL DEFAULT '{}',
        created_at  REAL NOT NULL
    );
    CREATE INDEX errors_session ON errors(session_id, created_at);
    CREATE TABLE artifacts (
        id          TEXT PRIMARY KEY,
        session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        job_id      TEXT,
        kind        TEXT NOT NULL,
        name        TEXT NOT NULL,
        media_type  TEXT NOT NULL,
        content     BLOB,
        path        TEXT,
        digest      TEXT NOT NULL,
        size        INTEGER NOT NULL,
        created_at  REAL NOT NULL
    );
    CREATE INDEX artifacts_session ON artifacts(session_id, kind, created_at);
    CREATE TABLE expired_sessions (
        id          TEXT PRIMARY KEY,
        expired_at  REAL NOT NULL,
        reason      TEXT NOT NULL
    );
    """,
    # 2: durable workflow runs, their steps and the events (routing decisions, fixes) of each run
    """
    CREATE TABLE workflow_runs (
        id            TEXT PRIMARY KEY,
        session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        name          TEXT NOT NULL,
        spec          TEXT NOT NULL,
        inputs        TEXT NOT NULL DEFAULT '{}',
        status        TEXT NOT NULL CHECK (status IN ('pending','running','succeeded','failed','cancelling','cancelled')),
        created_at    REAL NOT NULL,
        updated_at    REAL NOT NULL,
        pid           INTEGER,
        error_code    TEXT,
        error_message TEXT
    );
    CREATE INDEX workflow_runs_session ON workflow_runs(session_id, created_at);
    CREATE TABLE workflow_steps (
        run_id        TEXT NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
        step_id       TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('pending','running','succeeded','failed','skipped','cancelled')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        started_at    REAL,
        ended_at      REAL,
        job_id        TEXT,
        outputs       TEXT,
        error_code    TEXT,
        error_message TEXT,
        reason        TEXT,
        PRIMARY KEY (run_id, step_id)
    );
    CREATE TABLE workflow_events (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id      TEXT NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
        step_id     TEXT,
        kind        TEXT NOT NULL,
        detail      TEXT NOT NULL DEFAULT '{}',
        created_at  REAL NOT NULL
    );
    CREATE INDEX workflow_events_run ON workflow_events(run_id, id);
    """,
    # 3: the process that owns a running job or run (host:pid:start), so a crash leaves nothing "running"; runs removed
    # with their session are remembered with the reason
    """
    ALTER TABLE jobs ADD COLUMN owner TEXT;
    ALTER TABLE workflow_runs ADD COLUMN owner TEXT;
    CREATE INDEX jobs_unfinished ON jobs(status) WHERE status IN ('queued', 'running');
    CREATE TABLE removed_runs (
        id          TEXT PRIMARY KEY,
        session_id  TEXT NOT NULL,
        name        TEXT NOT NULL,
        status      TEXT NOT NULL,
        removed_at  REAL NOT NULL,
        reason      TEXT NOT NULL
    );
    """,
    # 4: a run that a server executes holds a lease its owner renews; when it lapses, another server takes it over
    """
    ALTER TABLE workflow_runs ADD COLUMN lease_until REAL;
    CREATE INDEX workflow_runs_leased ON workflow_runs(lease_until) WHERE lease_until IS NOT NULL;
    """,
    # 5: whether the run may write fixes over the user's own files (apply_fixes): a server taking it over keeps it
    """
    ALTER TABLE workflow_runs ADD COLUMN apply_fixes INTEGER NOT NULL DEFAULT 0;
    """,
]

#: The same schema on PostgreSQL, version for version (a test checks the two lists are as long and make the same
#: tables and columns). Differences: DOUBLE PRECISION for SQLite's REAL (PostgreSQL's REAL is 4 bytes: no room for a
#: timestamp), BYTEA for BLOB, identity columns for AUTOINCREMENT, and a ``seq`` identity column where the store orders
#: by insertion (SQLite's ``rowid``).
PG_MIGRATIONS: list[str] = [
    """
    CREATE TABLE sessions (
        id            TEXT PRIMARY KEY,
        created_at    DOUBLE PRECISION NOT NULL,
        last_access   DOUBLE PRECISION NOT NULL,
        expires_at    DOUBLE PRECISION NOT NULL,
        workspace_dir TEXT NOT NULL,
        labels        TEXT NOT NULL DEFAULT '[]',
        state         TEXT NOT NULL DEFAULT '{}',
        version       INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_last_access ON sessions(last_access);
    CREATE INDEX sessions_expires_at ON sessions(expires_at);
    CREATE TABLE jobs (
        seq           BIGINT GENERATED ALWAYS AS IDENTITY,
        id            TEXT PRIMARY KEY,
        session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        tool          TEXT NOT NULL,
        params        TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')),
        queued_at     DOUBLE PRECISION NOT NULL,
        started_at    DOUBLE PRECISION,
        ended_at      DOUBLE PRECISION,
        duration_ms   DOUBLE PRECISION,
        error_code    TEXT,
        error_message TEXT
    );
    CREATE INDEX jobs_session ON jobs(session_id, queued_at, seq);
    CREATE TABLE errors (
        id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        job_id      TEXT,
        tool        TEXT,
        code        TEXT NOT NULL,
        message     TEXT NOT NULL,
        hint        TEXT NOT NULL,
        details     TEXT NOT NULL DEFAULT '{}',
        created_at  DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX errors_session ON errors(session_id, created_at);
    CREATE TABLE artifacts (
        seq         BIGINT GENERATED ALWAYS AS IDENTITY,
        id          TEXT PRIMARY KEY,
        session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        job_id      TEXT,
        kind        TEXT NOT NULL,
        name        TEXT NOT NULL,
        media_type  TEXT NOT NULL,
        content     BYTEA,
        path        TEXT,
        digest      TEXT NOT NULL,
        size        BIGINT NOT NULL,
        created_at  DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX artifacts_session ON artifacts(session_id, kind, created_at);
    CREATE TABLE expired_sessions (
        id          TEXT PRIMARY KEY,
        expired_at  DOUBLE PRECISION NOT NULL,
        reason      TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE workflow_runs (
        id            TEXT PRIMARY KEY,
        session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        name          TEXT NOT NULL,
        spec          TEXT NOT NULL,
        inputs        TEXT NOT NULL DEFAULT '{}',
        status        TEXT NOT NULL CHECK (status IN ('pending','running','succeeded','failed','cancelling','cancelled')),
        created_at    DOUBLE PRECISION NOT NULL,
        updated_at    DOUBLE PRECISION NOT NULL,
        pid           INTEGER,
        error_code    TEXT,
        error_message TEXT
    );
    CREATE INDEX workflow_runs_session ON workflow_runs(session_id, created_at);
    CREATE TABLE workflow_steps (
        seq           BIGINT GENERATED ALWAYS AS IDENTITY,
        run_id        TEXT NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
        step_id       TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('pending','running','succeeded','failed','skipped','cancelled')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        started_at    DOUBLE PRECISION,
        ended_at      DOUBLE PRECISION,
        job_id        TEXT,
        outputs       TEXT,
        error_code    TEXT,
        error_message TEXT,
        reason        TEXT,
        PRIMARY KEY (run_id, step_id)
    );
    CREATE TABLE workflow_events (
        id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        run_id      TEXT NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
        step_id     TEXT,
        kind        TEXT NOT NULL,
        detail      TEXT NOT NULL DEFAULT '{}',
        created_at  DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX workflow_events_run ON workflow_events(run_id, id);
    """,
    """
    ALTER TABLE jobs ADD COLUMN owner TEXT;
    ALTER TABLE workflow_runs ADD COLUMN owner TEXT;
    CREATE INDEX jobs_unfinished ON jobs(status) WHERE status IN ('queued', 'running');
    CREATE TABLE removed_runs (
        id          TEXT PRIMARY KEY,
        session_id  TEXT NOT NULL,
        name        TEXT NOT NULL,
        status      TEXT NOT NULL,
        removed_at  DOUBLE PRECISION NOT NULL,
        reason      TEXT NOT NULL
    );
    """,
    """
    ALTER TABLE workflow_runs ADD COLUMN lease_until DOUBLE PRECISION;
    CREATE INDEX workflow_runs_leased ON workflow_runs(lease_until) WHERE lease_until IS NOT NULL;
    """,
    """
    ALTER TABLE workflow_runs ADD COLUMN apply_fixes INTEGER NOT NULL DEFAULT 0;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
