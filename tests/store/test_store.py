"""Session store: migrations, expiry, eviction, quota, concurrency, crash safety — on SQLite and on PostgreSQL (every
test runs on both backends: the ``where`` fixture)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from containerkit.errors import (
    ContainerKitError,
    InvalidInputError,
    NotFoundError,
    QuotaExceededError,
    SchemaTooNewError,
    SessionExpiredError,
)
from containerkit.store import SessionStore
from containerkit.store.schema import MIGRATIONS, PG_MIGRATIONS


@dataclass(frozen=True)
class Where:
    """Where a test's store lives: the SQLite file or this test's PostgreSQL schema, and the workspaces."""

    backend: str
    location: str
    workspaces: Path

    @property
    def migrations(self) -> list[str]:
        return MIGRATIONS if self.backend == "sqlite" else PG_MIGRATIONS

    def connect(self) -> Any:
        """A connection of the database's own driver, beside the store (what another tool would see)."""
        if self.backend == "sqlite":
            return sqlite3.connect(self.location, timeout=30)
        import psycopg

        return psycopg.connect(self.location, autocommit=True)

    def columns(self, table: str) -> list[str]:
        conn = self.connect()
        try:
            if self.backend == "sqlite":
                return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            sql = (
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = %s AND table_schema = current_schema()"
            )
            return [r[0] for r in conn.execute(sql, (table,))]
        finally:
            conn.close()

    def everything_stored(self) -> bytes:
        """Every byte the database holds (SQLite: its files; PostgreSQL: every row of every table, as text)."""
        if self.backend == "sqlite":
            return b"".join(p.read_bytes() for p in Path(self.location).parent.glob(Path(self.location).name + "*"))
        conn = self.connect()
        try:
            tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
            rows = [conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables]  # noqa: S608 - its own tables
            return repr(rows).encode()
        finally:
            conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Where:
    if request.param == "sqlite":
        return Where("sqlite", str(tmp_path / "s.db"), tmp_path / "ws")
    return Where("postgres", request.getfixturevalue("postgres_url"), tmp_path / "ws")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make_store(where: Where, **kw: object) -> SessionStore:
    return SessionStore(where.location, where.workspaces, **kw)  # type: ignore[arg-type]


def test_new_database_gets_current_schema_version(where: Where) -> None:
    store = make_store(where)
    assert store.db.schema_version() == len(MIGRATIONS) == len(PG_MIGRATIONS)


def test_both_schemas_have_the_same_tables_and_columns(tmp_path: Path, postgres_url: str) -> None:
    """The two migration lists make the same schema (but PostgreSQL's ``seq``, SQLite's ``rowid``)."""
    lite = Where("sqlite", str(tmp_path / "s.db"), tmp_path / "ws")
    pg = Where("postgres", postgres_url, tmp_path / "ws")
    tables = ["sessions", "jobs", "errors", "artifacts", "expired_sessions"]
    tables += ["workflow_runs", "workflow_steps", "workflow_events", "removed_runs"]
    found = {}
    for w in (lite, pg):
        make_store(w).list_sessions()
        found[w.backend] = {t: sorted(set(w.columns(t)) - {"seq"}) for t in tables}
    assert found["sqlite"] == found["postgres"]
    assert {"owner", "params", "duration_ms"} <= set(found["postgres"]["jobs"])


def test_opening_an_older_database_migrates_it_and_keeps_data(where: Where) -> None:
    old = SessionStore(where.location, where.workspaces, migrations=where.migrations[:1])
    sid = old.create_session(labels=["keep"]).id
    old.close()
    extra = "ALTER TABLE sessions ADD COLUMN note TEXT; CREATE TABLE extra_things (id INTEGER PRIMARY KEY)"
    new = SessionStore(where.location, where.workspaces, migrations=[*where.migrations[:1], extra])
    assert new.db.schema_version() == 2
    assert new.get_session(sid).labels == ["keep"]
    assert "note" in where.columns("sessions")


def test_newer_database_is_refused_with_clear_error(where: Where) -> None:
    store = make_store(where)
    store.create_session()
    store.db.connection().execute("UPDATE schema_version SET version = 999")
    store.close()
    with pytest.raises(SchemaTooNewError) as info:
        make_store(where).list_sessions()
    assert info.value.code == "STORE_SCHEMA_TOO_NEW"
    assert "999" in info.value.message and "upgrade" in info.value.hint.lower()


def test_expired_session_is_swept_with_its_workspace_and_reported_as_expired(where: Where) -> None:
    clock = Clock()
    store = make_store(where, ttl_s=60, clock=clock)
    session = store.create_session()
    (Path(session.workspace_dir) / "file.txt").write_text("x")
    clock.now += 61
    assert store.sweep() == [session.id]
    assert not Path(session.workspace_dir).exists()
    with pytest.raises(SessionExpiredError) as info:
        store.touch(session.id)
    assert info.value.code == "SESSION_EXPIRED"


def test_expired_session_touched_before_sweep_is_expired_too(where: Where) -> None:
    clock = Clock()
    store = make_store(where, ttl_s=60, clock=clock)
    session = store.create_session()
    clock.now += 61
    with pytest.raises(SessionExpiredError):
        store.begin_job(session.id, "get_session", {})
    assert not Path(session.workspace_dir).exists()


def test_access_extends_expiry(where: Where) -> None:
    clock = Clock()
    store = make_store(where, ttl_s=60, clock=clock)
    session = store.create_session()
    clock.now += 50
    store.touch(session.id)
    clock.now += 50
    assert store.sweep() == []
    assert store.session_info(session.id).id == session.id


def test_unknown_session_is_not_found_not_expired(where: Where) -> None:
    with pytest.raises(NotFoundError):
        make_store(where).touch("nope")


def test_least_recently_used_session_is_evicted_beyond_the_maximum(where: Where) -> None:
    clock = Clock()
    store = make_store(where, max_sessions=3, clock=clock)
    ids = []
    for _ in range(3):
        clock.now += 1
        ids.append(store.create_session().id)
    clock.now += 1
    store.touch(ids[0])  # ids[1] is now the least recently used
    clock.now += 1
    store.create_session()
    live = {s.id for s in store.list_sessions()}
    assert ids[1] not in live and ids[0] in live and ids[2] in live
    with pytest.raises(SessionExpiredError, match="evicted"):
        store.touch(ids[1])


def test_disk_quota_refuses_an_artifact_that_does_not_fit(where: Where) -> None:
    store = make_store(where, disk_quota_bytes=1000)
    sid = store.create_session().id
    store.add_artifact(sid, "dockerfile", "Dockerfile", "x" * 600)
    with pytest.raises(QuotaExceededError) as info:
        store.add_artifact(sid, "build_log", "log", "y" * 600)
    assert info.value.details["quota"] == 1000
    assert len(store.list_artifacts(sid)) == 1  # nothing already stored was lost


def test_workspace_files_count_towards_the_quota(where: Where) -> None:
    store = make_store(where, disk_quota_bytes=1000)
    session = store.create_session()
    (Path(session.workspace_dir) / "clone.bin").write_bytes(b"z" * 900)
    with pytest.raises(QuotaExceededError):
        store.add_artifact(session.id, "report", "r", "a" * 200)


def test_artifact_round_trip_with_digest(where: Where) -> None:
    store = make_store(where)
    sid = store.create_session().id
    info = store.add_artifact(sid, "dockerfile", "Dockerfile", "FROM scratch\n")
    got, content = store.get_artifact(info.id)
    assert content == b"FROM scratch\n"
    assert got.digest == "sha256:" + __import__("hashlib").sha256(content).hexdigest()
    assert store.latest_artifact(sid, "dockerfile") is not None


def test_fifty_concurrent_state_updates_all_land(where: Where) -> None:
    store = make_store(where)
    sid = store.create_session().id

    def add(i: int) -> None:
        def change(state: dict[str, object]) -> None:
            items = list(state.get("items", []))  # type: ignore[call-overload]
            items.append(i)
            time.sleep(0.001)  # widen the race window between read and write
            state["items"] = items

        store.update_state(sid, change)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(add, range(50)))
    state, version = store.get_state(sid)
    assert sorted(state["items"]) == list(range(50))
    assert version == 50


def test_fifty_concurrent_updates_from_separate_processes_all_land(where: Where) -> None:
    store = make_store(where)
    sid = store.create_session().id
    store.close()
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from containerkit.store import SessionStore
        s = SessionStore({where.location!r}, Path({str(where.workspaces)!r}))
        for i in range(int(sys.argv[1]), int(sys.argv[1]) + 10):
            s.update_state({sid!r}, lambda st, i=i: st.update(items=[*st.get("items", []), i]))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(k * 10)]) for k in range(5)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 5
    state, version = make_store(where).get_state(sid)
    assert sorted(state["items"]) == list(range(50))
    assert version == 50


def test_kill_9_mid_write_leaves_a_consistent_database(where: Where) -> None:
    store = make_store(where)
    sid = store.create_session().id
    store.close()
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from containerkit.store import SessionStore
        s = SessionStore({where.location!r}, Path({str(where.workspaces)!r}), disk_quota_bytes=10**10)
        i = 0
        print("ready", flush=True)
        while True:
            s.update_state({sid!r}, lambda st, i=i: st.update(n=i, items=[*st.get("items", []), i]))
            s.add_artifact({sid!r}, "build_log", f"log{{i}}", "line\\n" * 2000)
            _, job = s.begin_job({sid!r}, "t", {{"i": i}})
            s.end_job(job, "succeeded")
            i += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # let it write for a while, then kill it mid-flight
        conn = where.connect()
        (count,) = conn.execute("SELECT COUNT(*) FROM artifacts").fetchone()
        conn.close()
        if count >= 30:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if where.backend == "sqlite":
        conn = where.connect()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    reopened = make_store(where)
    state, version = reopened.get_state(sid)
    # every committed update is whole: the list holds 0..n with no gaps, and the version counts them
    assert state["items"] == list(range(state["n"] + 1))
    assert version == len(state["items"])
    assert len(reopened.list_artifacts(sid)) >= 30
    for job in reopened.list_jobs(sid):
        # the job the kill interrupted is failed on reopening, with the reason: nothing stays "running"
        assert job.status == "succeeded" or (job.status == "failed" and job.error_code == "INTERRUPTED"), job
        json.dumps(job.params)


def test_job_params_and_errors_never_store_secrets(where: Where) -> None:
    from containerkit.errors import RegistryAuthError
    from containerkit.redaction import register_secret

    canary = "canary-pw-7f3a9c"
    register_secret(canary)
    store = make_store(where)
    sid = store.create_session().id
    _, job = store.begin_job(sid, "push_image", {"password": canary, "ref": "x", "nested": {"token": "tok-123456"}})
    store.end_job(
        job, "failed", RegistryAuthError(f"login failed with {canary}", details={"cmd": f"--password {canary}"})
    )
    store.add_artifact(sid, "build_log", "log", f"echo {canary}")
    store.close()
    raw = where.everything_stored()
    assert canary.encode() not in raw
    assert b"tok-123456" not in raw


def test_a_postgres_url_with_a_wrong_password_is_a_clear_store_error_without_the_password(
    postgres_url: str, tmp_path: Path
) -> None:
    from urllib.parse import urlsplit

    from containerkit.errors import StoreError

    canary = "canary-pg-pw-4b9e1d"
    parts = urlsplit(postgres_url)
    bad = postgres_url.replace(f":{parts.password}@", f":{canary}@", 1)
    with pytest.raises(StoreError) as info:
        SessionStore(bad, tmp_path / "ws").list_sessions()
    text = f"{info.value.message} {info.value.hint} {info.value.details}"
    assert canary not in text and "postgresql://ck:***@127.0.0.1:5433" in text
    assert "password authentication failed" in text and "CONTAINERKIT_STORE__URL" in text


def test_a_session_used_again_within_a_second_is_not_touched_again(where: Where) -> None:
    """One commit less per call: a job of a session used within TOUCH_EVERY_S leaves its expiry as it was."""
    clock = Clock()
    store = make_store(where, clock=clock, ttl_s=3600)
    sid = store.create_session().id
    clock.now += 10
    store.begin_job(sid, "a", {})
    touched = store.session_info(sid)
    assert touched.last_access == clock.now
    clock.now += 0.5
    store.defer_job(sid, "b", {})
    store.begin_job(sid, "c", {})
    assert store.session_info(sid).last_access == touched.last_access
    clock.now += 1.0
    store.defer_job(sid, "d", {})
    assert store.session_info(sid).last_access == clock.now and store.session_info(sid).expires_at == clock.now + 3600


def test_a_deferred_job_is_written_when_it_ends_or_as_running_when_asked(where: Where) -> None:
    store = make_store(where)
    sid = store.create_session().id
    _, short = store.defer_job(sid, "peek", {"x": 1})
    assert [j.id for j in store.list_jobs(sid)] == []
    store.end_job(short.id, "succeeded", pending=short)
    (done,) = store.list_jobs(sid)
    assert done.id == short.id and done.status == "succeeded" and done.params == {"x": 1}
    assert done.duration_ms is not None and done.ended_at is not None
    _, long = store.defer_job(sid, "wait", {})
    store.write_pending(long)
    assert store.get_job(long.id).status == "running"
    store.end_job(long.id, "failed", InvalidInputError("no"), tool="wait", pending=long)
    assert store.get_job(long.id).status == "failed" and store.list_errors(sid)[0].job_id == long.id


def test_a_finished_job_is_listed_from_memory_a_running_one_is_read_again(where: Where) -> None:
    store = make_store(where)
    sid = store.create_session().id
    _, jid = store.begin_job(sid, "build", {})
    assert [j.status for j in store.list_jobs(sid)] == ["running"]
    store.end_job(jid, "succeeded")
    assert [j.status for j in store.list_jobs(sid)] == ["succeeded"]  # the running record was not kept
    assert store.list_jobs(sid)[0] is store.list_jobs(sid)[0]  # finished: kept, not read again
    other = make_store(where)  # another process's view of the same rows
    assert [j.id for j in other.list_jobs(sid)] == [jid]
    store.delete_session(sid)
    assert store.list_jobs(sid) == []


def test_a_session_deleted_during_a_read_only_call_leaves_no_job_and_no_error(where: Where) -> None:
    store = make_store(where)
    sid = store.create_session().id
    _, pending = store.defer_job(sid, "peek", {})
    make_store(where).delete_session(sid)  # by another process
    store.end_job(pending.id, "succeeded", pending=pending)
    with pytest.raises(NotFoundError):
        store.get_job(pending.id)
    with pytest.raises(ContainerKitError) as gone:
        store.write_pending(pending)
    assert gone.value.code in ("SESSION_EXPIRED", "NOT_FOUND")
