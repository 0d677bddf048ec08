"""analyze_repository → generate_dockerfile → validate_dockerfile through the MCP SDK client, in one session."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from containerkit.mcp.server import build_server
from tests.conftest import FIXTURE_REPOS, Harness


def test_the_three_tools_over_mcp_land_in_the_session(harness: Harness, tmp_path: Path) -> None:
    repo = tmp_path / "node-express"
    shutil.copytree(FIXTURE_REPOS / "node-express", repo)

    async def main() -> dict[str, Any]:
        async with Client(build_server(harness.app)) as client:
            analyzed = await client.call_tool("analyze_repository", {"path": str(repo)})
            assert not analyzed.is_error, analyzed.content
            assert analyzed.structured_content["session_id"] == ""  # read-only: no session of its own
            generated = await client.call_tool("generate_dockerfile", {"path": str(repo), "write": True})
            assert not generated.is_error, generated.content
            sid = generated.structured_content["session_id"]
            validated = await client.call_tool("validate_dockerfile", {"path": str(repo), "session_id": sid})
            assert not validated.is_error, validated.content
            broken = await client.call_tool("validate_dockerfile", {"path": str(tmp_path / "nowhere"), "session_id": sid})
            return {"analyzed": analyzed.structured_content, "generated": generated.structured_content,
                    "validated": validated.structured_content, "broken": broken}

    got = anyio.run(main)
    analysis = got["analyzed"]["analysis"]
    assert analysis["services"][0]["language"] == "node" and analysis["services"][0]["framework"] == "express"
    sid = got["generated"]["session_id"]
    assert sid and got["validated"]["session_id"] == sid
    assert got["generated"]["written"] == [str(repo / "Dockerfile"), str(repo / ".dockerignore")]
    assert got["validated"]["valid"] is True and got["validated"]["errors"] == 0
    # an error reaches the client as a tool error with its code, not a traceback
    assert got["broken"].is_error and "PATH_NOT_ALLOWED" in str(got["broken"].content) and "Traceback" not in str(got["broken"].content)
    store = harness.app.services.store
    state, _ = store.get_state(sid)
    assert state["analysis"]["services"][0]["port"] == analysis["services"][0]["port"]
    assert state["dockerfile"]["user_uid"] == got["generated"]["user_uid"]
    artifacts = {a.kind: a for a in store.list_artifacts(sid)}
    assert artifacts["dockerfile"].name == "./Dockerfile"
    assert store.get_artifact(artifacts["dockerfile"].id)[1] == (repo / "Dockerfile").read_bytes()
    jobs = sorted((j.tool, j.status) for j in store.list_jobs(sid))
    assert jobs == [("generate_dockerfile", "succeeded"), ("validate_dockerfile", "failed"),
                    ("validate_dockerfile", "succeeded")]
