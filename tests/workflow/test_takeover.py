"""Server replicas on one PostgreSQL store: the server running a workflow is killed (kill -9) mid-build, and another
takes the run over once its lease lapses and resumes it from its last completed step — no completed step runs again,
none is lost."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from containerkit.store import SessionStore
from tests.conftest import start_http_server

TOKEN = "takeover-t0ken-" + "z" * 16
LEASE_S = 3


def _workflow(app: Path, tag: str) -> str:
    return json.dumps(
        {
            "name": "takeover",
            "steps": [
                {"id": "lint", "tool": "validate_dockerfile", "params": {"path": str(app)}},
                {
                    "id": "build",
                    "tool": "build_image",
                    "depends_on": ["lint"],
                    "params": {"path": str(app), "tags": [tag]},
                },
                {"id": "check", "tool": "validate_dockerfile", "depends_on": ["build"], "params": {"path": str(app)}},
            ],
        }
    )


async def _start_run(port: int, spec: str) -> None:
    """Start the workflow on one server; the call dies with that server (what is left is in the store)."""
    try:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120) as http,
            Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client,
        ):
            await client.call_tool("execute_custom_workflow", {"spec": spec})
    except Exception:  # noqa: S110 - the server was killed under the call, as the test intends
        pass


@pytest.mark.docker
def test_a_run_whose_server_is_killed_mid_build_is_taken_over_and_finished_by_another(
    tmp_path: Path, postgres_url: str, docker_client: Any
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    marker = uuid.uuid4().hex[:12]  # no build cache: the build really takes its seconds, twice
    (app / "Dockerfile").write_text(
        f'FROM debian:bookworm-slim\nRUN echo {marker} && sleep 8\nUSER 1000\nCMD ["sleep", "1"]\n'
    )
    tag = f"ck-takeover:{marker}"
    env = {
        "CONTAINERKIT_STORE__URL": postgres_url,
        "CONTAINERKIT_MCP__AUTH_TOKEN": TOKEN,
        "CONTAINERKIT_WORKFLOW__LEASE_S": str(LEASE_S),
        "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)]),
    }
    servers = [start_http_server(tmp_path / f"home-{name}", **env) for name in ("a", "b", "c")]
    store = SessionStore(postgres_url, tmp_path / "ws")
    try:
        (proc_a, port_a), others = servers[0], servers[1:]

        async def start_and_kill() -> tuple[str, dict[str, Any]]:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_start_run, port_a, _workflow(app, tag))
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    runs = store.runs.list_runs()
                    steps = {s.step_id: s for s in runs[0].steps} if runs else {}
                    if steps and steps["build"].status == "running":
                        await anyio.sleep(2)  # well inside the build's 8 s
                        before = {s.step_id: s.model_dump() for s in store.runs.get(runs[0].id).steps}
                        os.kill(proc_a.pid, signal.SIGKILL)
                        return runs[0].id, before
                    await anyio.sleep(0.2)
                raise AssertionError("the build step never started")

        run_id, before = anyio.run(start_and_kill)
        proc_a.wait(timeout=10)
        owner_a = store.runs.get(run_id).owner
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run = store.runs.get(run_id)
            if run.status in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.5)
        assert run.status == "succeeded", run
        steps = {s.step_id: s for s in run.steps}
        # the step that completed before the kill was kept as it was: not run again
        assert before["lint"]["status"] == "succeeded"
        assert steps["lint"].model_dump() == before["lint"]
        assert steps["build"].status == "succeeded" and steps["check"].status == "succeeded"
        events = store.runs.events(run_id)
        takeover = [e for e in events if e.kind == "takeover"]
        assert len(takeover) == 1 and takeover[0].detail["from"] == owner_a
        resume = [e for e in events if e.kind == "resume"]
        assert resume and resume[-1].detail["kept"] == ["lint"]
        assert run.pid in {p.pid for p, _ in others} and run.owner != owner_a
        assert docker_client.images.get(tag).id == steps["build"].outputs["image_id"]  # type: ignore[index]
    finally:
        for proc, _ in servers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=15)
        store.close()
        with contextlib.suppress(Exception):  # not built when the test failed early
            docker_client.images.remove(tag, force=True)
