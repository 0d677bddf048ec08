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
]

SCHEMA_VERSION = len(MIGRATIONS)
