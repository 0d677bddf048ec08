"""Durable workflow runs: the run, every step's state and outputs, and routing events.

Written as they change so a crashed run can be resumed from the first unfinished step.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from containerkit.errors import ContainerKitError, InterruptedError_, NotFoundError
from containerkit.redaction import redact, redact_data
from containerkit.store import owner
from containerkit.store.db import Connection, Database

RunStatus = Literal["pending", "running", "succeeded", "failed", "cancelling", "cancelled"]
StepStatus = Literal["pending", "running", "succeeded", "failed", "skipped", "cancelled"]


class _R(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepState(_R):
    step_id: str
    status: StepStatus
    attempts: int
    started_at: float | None
    ended_at: float | None
    job_id: str | None
    outputs: dict[str, Any] | None = Field(description="The step tool's result document.")
    error_code: str | None
    error_message: str | None
    reason: str | None = Field(description="Why it was skipped/cancelled, or the routing that re-ran it.")


class RunEvent(_R):
    id: int
    step_id: str | None
    kind: str = Field(description="route, fix, retry, skip, cancel, resume, ...")
    detail: dict[str, Any]
    created_at: float


class RunRecord(_R):
    id: str
    session_id: str
    name: str
    spec: dict[str, Any]
    inputs: dict[str, Any]
    status: RunStatus
    created_at: float
    updated_at: float
    pid: int | None
    owner: str | None = Field(None, description="host:pid:start of the process running it (while it runs).")
    lease_until: float | None = Field(
        None,
        description="A run a server executes: until when its owner holds it (renewed while it runs); after that "
        "another server on the same store takes it over.",
    )
    error_code: str | None
    error_message: str | None
    apply_fixes: bool = Field(
        False, description="Fixes may be written over the user's own files (a server taking the run over keeps it)."
    )
    steps: list[StepState]


_STEP_COLS = "step_id, status, attempts, started_at, ended_at, job_id, outputs, error_code, error_message, reason"


class RunStore:
    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    def create(
        self,
        session_id: str,
        name: str,
        spec: dict[str, Any],
        inputs: dict[str, Any],
        step_ids: list[str],
        pid: int,
        lease_s: float | None = None,
        apply_fixes: bool = False,
    ) -> str:
        """A new running run (``lease_s``: held under a lease of that many seconds, renewed by :meth:`renew_lease`;
        ``apply_fixes``: recorded, so whoever resumes it unasked does as its starter asked)."""
        run_id = uuid.uuid4().hex[:16]
        now = self.clock()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO workflow_runs(id, session_id, name, spec, inputs, status, created_at, updated_at, pid, "
                "owner, lease_until, apply_fixes)"
                " VALUES (?,?,?,?,?, 'running', ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    session_id,
                    name,
                    json.dumps(spec),
                    json.dumps(redact_data(inputs)),
                    now,
                    now,
                    pid,
                    owner.current() if pid == os.getpid() else None,
                    None if lease_s is None else now + lease_s,
                    int(apply_fixes),
                ),
            )
            conn.executemany(
                "INSERT INTO workflow_steps(run_id, step_id, status) VALUES (?, ?, 'pending')",
                [(run_id, s) for s in step_ids],
            )
        return run_id

    def get(self, run_id: str) -> RunRecord:
        conn = self.db.connection()
        row = conn.execute("SELECT * FROM workflow_runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._missing(conn, run_id)
        steps = conn.execute(
            f"SELECT {_STEP_COLS} FROM workflow_steps WHERE run_id = ? ORDER BY rowid",  # noqa: S608 - constant columns
            (run_id,),
        ).fetchall()
        data = dict(row)
        data["spec"] = json.loads(data["spec"])
        data["inputs"] = json.loads(data["inputs"])
        data["steps"] = [_step(dict(s)) for s in steps]
        return RunRecord(**data)

    def list_runs(self, session_id: str | None = None, limit: int = 50) -> list[RunRecord]:
        sql = "SELECT id FROM workflow_runs"
        args: list[Any] = []
        if session_id:
            sql += " WHERE session_id = ?"
            args.append(session_id)
        rows = self.db.connection().execute(sql + " ORDER BY created_at DESC LIMIT ?", [*args, limit]).fetchall()
        return [self.get(r["id"]) for r in rows]

    def set_run(
        self, run_id: str, status: RunStatus, error: ContainerKitError | None = None, pid: int | None = None
    ) -> None:
        """``pid`` (this process taking the run over) also records this process as the run's owner."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE workflow_runs SET status = ?, updated_at = ?, error_code = ?, error_message = ?, pid = "
                "COALESCE(?, pid),"
                " owner = COALESCE(?, owner) WHERE id = ?",
                (
                    status,
                    self.clock(),
                    error.code if error else None,
                    redact(error.message) if error else None,
                    pid,
                    owner.current() if pid == os.getpid() else None,
                    run_id,
                ),
            )

    def _missing(self, conn: Connection, run_id: str) -> NotFoundError:
        """No such run: say so, or say when and why it was removed."""
        row = conn.execute("SELECT * FROM removed_runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return NotFoundError(
                f"no workflow run {run_id!r}",
                hint="List runs with {tool:list_workflow_runs}.",
                details={"run_id": run_id},
            )
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(row["removed_at"]))
        return NotFoundError(
            f"workflow run {run_id} ({row['name']}, {row['status']}) was {row['reason']} at {when}",
            hint="A removed run cannot be resumed; start it again ({tool:containerize} or "
            "{tool:execute_custom_workflow}).",
            details={
                "run_id": run_id,
                "session_id": row["session_id"],
                "removed_reason": row["reason"],
                "removed_at": row["removed_at"],
                "status_when_removed": row["status"],
            },
        )

    def reclaim(self) -> list[str]:
        """Runs marked running or cancelling whose process is gone: failed (still resumable) or cancelled, their
        running steps failed, with the reason. Returns the run ids."""
        conn = self.db.connection()
        rows = [
            r
            for r in conn.execute(
                "SELECT id, status, pid, owner FROM workflow_runs WHERE status IN ('pending', 'running', 'cancelling')"
                " AND lease_until IS NULL"  # a leased run is taken over by a server when its lease lapses
            ).fetchall()
            if owner.gone(r["owner"], r["pid"])
        ]
        for r in rows:
            err = InterruptedError_(
                f"the process running workflow run {r['id']} (pid {r['pid']}) is gone (killed or crashed)",
                hint="Resume it with {tool:resume_workflow " + r["id"] + "}.",
            )
            with self.db.transaction() as tx:
                tx.execute(
                    "UPDATE workflow_steps SET status = 'failed', ended_at = ?, error_code = ?, error_message = ?,"
                    " reason = 'interrupted: its process is gone' WHERE run_id = ? AND status = 'running'",
                    (self.clock(), err.code, err.message, r["id"]),
                )
                done = "cancelled" if r["status"] == "cancelling" else "failed"
                tx.execute(
                    "UPDATE workflow_runs SET status = ?, updated_at = ?, error_code = ?, error_message = ?"
                    " WHERE id = ? AND status = ?",
                    (done, self.clock(), err.code, err.message, r["id"], r["status"]),
                )
        return [r["id"] for r in rows]

    def renew_lease(self, run_id: str, lease_s: float) -> bool:
        """Extend this process's lease on a run it executes. False: it is not this process's any more (another
        server took it over after the lease lapsed) — the caller stops executing it."""
        cur = self.db.connection().execute(
            "UPDATE workflow_runs SET lease_until = ? WHERE id = ? AND owner = ? AND status IN "
            "('pending', 'running', 'cancelling')",
            (self.clock() + lease_s, run_id, owner.current()),
        )
        return cur.rowcount == 1

    def claim_lapsed(self, lease_s: float) -> list[str]:
        """Take over the leased runs whose lease has lapsed, or whose owner on this host is gone: this process
        becomes their owner under a new lease (one process wins each run). Returns the run ids, to resume."""
        now = self.clock()
        conn = self.db.connection()
        candidates = [
            r
            for r in conn.execute(
                "SELECT id, owner, pid, lease_until FROM workflow_runs WHERE lease_until IS NOT NULL"
                " AND status IN ('pending', 'running', 'cancelling')"
            ).fetchall()
            if r["lease_until"] < now or owner.gone(r["owner"], r["pid"])
        ]
        claimed = []
        for r in candidates:
            with self.db.transaction() as tx:
                cur = tx.execute(
                    "UPDATE workflow_runs SET owner = ?, pid = ?, lease_until = ?"
                    " WHERE id = ? AND owner IS NOT DISTINCT FROM ? AND lease_until = ?",
                    (owner.current(), os.getpid(), now + lease_s, r["id"], r["owner"], r["lease_until"]),
                )
                if cur.rowcount == 1:
                    detail = {"from": r["owner"], "to": owner.current(), "lease_until": r["lease_until"]}
                    self._insert_event(tx, r["id"], "takeover", detail)
                    claimed.append(r["id"])
        return claimed

    def run_status(self, run_id: str) -> RunStatus:
        conn = self.db.connection()
        row = conn.execute("SELECT status FROM workflow_runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._missing(conn, run_id)
        status: RunStatus = row["status"]
        return status

    def request_cancel(self, run_id: str) -> RunStatus:
        """Ask a running run to stop (it polls this flag). Returns the run's status after the request."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT status FROM workflow_runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise self._missing(conn, run_id)
            if row["status"] in ("running", "pending"):
                conn.execute(
                    "UPDATE workflow_runs SET status = 'cancelling', updated_at = ? WHERE id = ?",
                    (self.clock(), run_id),
                )
                return "cancelling"
            status: RunStatus = row["status"]
            return status

    def set_step(
        self,
        run_id: str,
        step_id: str,
        status: StepStatus,
        *,
        outputs: dict[str, Any] | None = None,
        error: ContainerKitError | None = None,
        job_id: str | None = None,
        reason: str | None = None,
        attempt: bool = False,
    ) -> None:
        now = self.clock()
        sets = ["status = ?", "reason = ?"]
        args: list[Any] = [status, reason]
        if status == "running":
            sets += ["started_at = ?", "ended_at = NULL", "error_code = NULL", "error_message = NULL"]
            args.append(now)
        elif status == "pending":
            sets += [
                "started_at = NULL",
                "ended_at = NULL",
                "outputs = NULL",
                "error_code = NULL",
                "error_message = NULL",
                "job_id = NULL",
            ]
        else:
            sets.append("ended_at = ?")
            args.append(now)
        if attempt:
            sets.append("attempts = attempts + 1")
        if outputs is not None:
            sets.append("outputs = ?")
            args.append(json.dumps(redact_data(outputs), default=str))
        if error is not None:
            sets += ["error_code = ?", "error_message = ?"]
            args += [error.code, redact(error.message)]
        if job_id is not None:
            sets.append("job_id = ?")
            args.append(job_id)
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE workflow_steps SET {', '.join(sets)} WHERE run_id = ? AND step_id = ?",  # noqa: S608
                [*args, run_id, step_id],
            )
            conn.execute("UPDATE workflow_runs SET updated_at = ? WHERE id = ?", (now, run_id))

    def add_event(self, run_id: str, kind: str, detail: dict[str, Any], step_id: str | None = None) -> None:
        with self.db.transaction() as conn:
            self._insert_event(conn, run_id, kind, detail, step_id)

    def _insert_event(
        self, conn: Connection, run_id: str, kind: str, detail: dict[str, Any], step_id: str | None = None
    ) -> None:
        """One event of a run, in the caller's transaction."""
        conn.execute(
            "INSERT INTO workflow_events(run_id, step_id, kind, detail, created_at) VALUES (?,?,?,?,?)",
            (run_id, step_id, kind, json.dumps(redact_data(detail), default=str), self.clock()),
        )

    def events(self, run_id: str) -> list[RunEvent]:
        rows = (
            self.db.connection()
            .execute(
                "SELECT id, step_id, kind, detail, created_at FROM workflow_events WHERE run_id = ? ORDER BY id",
                (run_id,),
            )
            .fetchall()
        )
        return [RunEvent(**{**dict(r), "detail": json.loads(r["detail"])}) for r in rows]


def _step(row: dict[str, Any]) -> StepState:
    row.pop("run_id", None)
    row["outputs"] = json.loads(row["outputs"]) if row["outputs"] else None
    return StepState(**row)
