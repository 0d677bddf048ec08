"""Session store: migrations, expiry, eviction, quota, concurrency, crash safety."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from containerkit.errors import NotFoundError, QuotaExceededError, SchemaTooNewError, SessionExpiredError
from containerkit.store import SessionStore
from containerkit.store.schema import MIGRATIONS


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make_store(tmp_path: Path, **kw: object) -> SessionStore:
    return SessionStore(tmp_path / "s.db", tmp_path / "ws", **kw)  # type: ignore[arg-type]


def test_new_database_gets_current_schema_version(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert store.db.schema_version() == len(MIGRATIONS)


def test_opening_an_older_database_migrates_it_and_keeps_data(tmp_path: Path) -> None:
    old = SessionStore(tmp_path / "s.db", tmp_path / "ws", migrations=MIGRATIONS[:1])
    sid = old.create_session(labels=["keep"]).id
    old.close()
    extra = "ALTER TABLE sessions ADD COLUMN note TEXT; CREATE TABLE extra_things (id INTEGER PRIMARY KEY)"
    new = SessionStore(tmp_path / "s.db", tmp_path / "ws", migrations=[*MIGRATIONS[:1], extra])
    assert new.db.schema_version() == 2
    assert new.get_session(sid).labels == ["keep"]
    cols = [r[1] for r in new.db.connection().execute("PRAGMA table_info(sessions)")]
    assert "note" in cols


def test_newer_database_is_refused_with_clear_error(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.create_session()
    store.db.connection().execute("UPDATE schema_version SET version = 999")
    store.close()
    with pytest.raises(SchemaTooNewError) as info:
        make_store(tmp_path).list_sessions()
    assert info.value.code == "STORE_SCHEMA_TOO_NEW"
    assert "999" in info.value.message and "upgrade" in info.value.hint.lower()


def test_expired_session_is_swept_with_its_workspace_and_reported_as_expired(tmp_path: Path) -> None:
    clock = Clock()
    store = make_store(tmp_path, ttl_s=60, clock=clock)
    session = store.create_session()
    (Path(session.workspace_dir) / "file.txt").write_text("x")
    clock.now += 61
    assert store.sweep() == [session.id]
    assert not Path(session.workspace_dir).exists()
    with pytest.raises(SessionExpiredError) as info:
        store.touch(session.id)
    assert info.value.code == "SESSION_EXPIRED"


def test_expired_session_touched_before_sweep_is_expired_too(tmp_path: Path) -> None:
    clock = Clock()
    store = make_store(tmp_path, ttl_s=60, clock=clock)
    session = store.create_session()
    clock.now += 61
    with pytest.raises(SessionExpiredError):
        store.begin_job(session.id, "get_session", {})
    assert not Path(session.workspace_dir).exists()


def test_access_extends_expiry(tmp_path: Path) -> None:
    clock = Clock()
    store = make_store(tmp_path, ttl_s=60, clock=clock)
    session = store.create_session()
    clock.now += 50
    store.touch(session.id)
    clock.now += 50
    assert store.sweep() == []
    assert store.session_info(session.id).id == session.id


def test_unknown_session_is_not_found_not_expired(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        make_store(tmp_path).touch("nope")


def test_least_recently_used_session_is_evicted_beyond_the_maximum(tmp_path: Path) -> None:
    clock = Clock()
    store = make_store(tmp_path, max_sessions=3, clock=clock)
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


def test_disk_quota_refuses_an_artifact_that_does_not_fit(tmp_path: Path) -> None:
    store = make_store(tmp_path, disk_quota_bytes=1000)
    sid = store.create_session().id
    store.add_artifact(sid, "dockerfile", "Dockerfile", "x" * 600)
    with pytest.raises(QuotaExceededError) as info:
        store.add_artifact(sid, "build_log", "log", "y" * 600)
    assert info.value.details["quota"] == 1000
    assert len(store.list_artifacts(sid)) == 1  # nothing already stored was lost


def test_workspace_files_count_towards_the_quota(tmp_path: Path) -> None:
    store = make_store(tmp_path, disk_quota_bytes=1000)
    session = store.create_session()
    (Path(session.workspace_dir) / "clone.bin").write_bytes(b"z" * 900)
    with pytest.raises(QuotaExceededError):
        store.add_artifact(session.id, "report", "r", "a" * 200)


def test_artifact_round_trip_with_digest(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    sid = store.create_session().id
    info = store.add_artifact(sid, "dockerfile", "Dockerfile", "FROM scratch\n")
    got, content = store.get_artifact(info.id)
    assert content == b"FROM scratch\n"
    assert got.digest == "sha256:" + __import__("hashlib").sha256(content).hexdigest()
    assert store.latest_artifact(sid, "dockerfile") is not None


def test_fifty_concurrent_state_updates_all_land(tmp_path: Path) -> None:
    store = make_store(tmp_path)
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


def test_fifty_concurrent_updates_from_separate_processes_all_land(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    sid = store.create_session().id
    store.close()
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from containerkit.store import SessionStore
        s = SessionStore(Path({str(tmp_path / "s.db")!r}), Path({str(tmp_path / "ws")!r}))
        for i in range(int(sys.argv[1]), int(sys.argv[1]) + 10):
            s.update_state({sid!r}, lambda st, i=i: st.update(items=[*st.get("items", []), i]))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(k * 10)]) for k in range(5)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 5
    state, version = make_store(tmp_path).get_state(sid)
    assert sorted(state["items"]) == list(range(50))
    assert version == 50


def test_kill_9_mid_write_leaves_a_consistent_database(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = make_store(tmp_path)
    sid = store.create_session().id
    store.close()
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from containerkit.store import SessionStore
        s = SessionStore(Path({str(db)!r}), Path({str(tmp_path / "ws")!r}), disk_quota_bytes=10**10)
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
        conn = sqlite3.connect(db, timeout=30)
        (count,) = conn.execute("SELECT COUNT(*) FROM artifacts").fetchone()
        conn.close()
        if count >= 30:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    reopened = make_store(tmp_path)
    state, version = reopened.get_state(sid)
    # every committed update is whole: the list holds 0..n with no gaps, and the version counts them
    assert state["items"] == list(range(state["n"] + 1))
    assert version == len(state["items"])
    assert len(reopened.list_artifacts(sid)) >= 30
    for job in reopened.list_jobs(sid):
        # the job the kill interrupted is failed on reopening, with the reason: nothing stays "running"
        assert job.status == "succeeded" or (job.status == "failed" and job.error_code == "INTERRUPTED"), job
        json.dumps(job.params)


def test_job_params_and_errors_never_store_secrets(tmp_path: Path) -> None:
    from containerkit.errors import RegistryAuthError
    from containerkit.redaction import register_secret

    canary = "canary-pw-7f3a9c"
    register_secret(canary)
    store = make_store(tmp_path)
    sid = store.create_session().id
    _, job = store.begin_job(sid, "push_image", {"password": canary, "ref": "x", "nested": {"token": "tok-123456"}})
    store.end_job(
        job, "failed", RegistryAuthError(f"login failed with {canary}", details={"cmd": f"--password {canary}"})
    )
    store.add_artifact(sid, "build_log", "log", f"echo {canary}")
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    assert canary.encode() not in raw
    assert b"tok-123456" not in raw
