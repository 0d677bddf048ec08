"""analyze_repository → generate_dockerfile → validate_dockerfile through the MCP SDK client, in one session."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
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
            broken = await client.call_tool(
                "validate_dockerfile", {"path": str(tmp_path / "nowhere"), "session_id": sid}
            )
            return {
                "analyzed": analyzed.structured_content,
                "generated": generated.structured_content,
                "validated": validated.structured_content,
                "broken": broken,
            }

    got = anyio.run(main)
    analysis = got["analyzed"]["analysis"]
    assert analysis["services"][0]["language"] == "node" and analysis["services"][0]["framework"] == "express"
    sid = got["generated"]["session_id"]
    assert sid and got["validated"]["session_id"] == sid
    assert got["generated"]["written"] == [str(repo / "Dockerfile"), str(repo / ".dockerignore")]
    assert got["validated"]["valid"] is True and got["validated"]["errors"] == 0
    # an error reaches the client as a tool error with its code, not a traceback
    assert (
        got["broken"].is_error
        and "PATH_NOT_ALLOWED" in str(got["broken"].content)
        and "Traceback" not in str(got["broken"].content)
    )
    store = harness.app.services.store
    state, _ = store.get_state(sid)
    assert state["analysis"]["services"][0]["port"] == analysis["services"][0]["port"]
    assert state["dockerfile"]["user_uid"] == got["generated"]["user_uid"]
    artifacts = {a.kind: a for a in store.list_artifacts(sid)}
    assert artifacts["dockerfile"].name == "./Dockerfile"
    assert store.get_artifact(artifacts["dockerfile"].id)[1] == (repo / "Dockerfile").read_bytes()
    jobs = sorted((j.tool, j.status) for j in store.list_jobs(sid))
    assert jobs == [
        ("generate_dockerfile", "succeeded"),
        ("validate_dockerfile", "failed"),
        ("validate_dockerfile", "succeeded"),
    ]


@pytest.mark.parametrize("mode", [pytest.param("legacy", id="2025-11-25"), pytest.param("2026-07-28", id="2026-07-28")])
@pytest.mark.parametrize("answer", ["accept", "decline", None])
def test_replacing_a_dockerfile_the_user_wrote_is_asked_first(
    harness: Harness, tmp_path: Path, mode: str, answer: str | None
) -> None:
    """The user's Dockerfile is replaced only when they agree through elicitation; otherwise the generated one is a
    proposal, and the warning names force=true (also when the client cannot ask)."""
    repo = tmp_path / "node-express"
    shutil.copytree(FIXTURE_REPOS / "node-express", repo)
    mine = 'FROM node:22-slim\nWORKDIR /app\nCOPY . .\nUSER 10001\nCMD ["node", "index.js"]\n'
    (repo / "Dockerfile").write_text(mine)
    questions: list[str] = []

    async def elicit(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        questions.append(params.message)
        return types.ElicitResult(action=answer, content={"confirm": True} if answer == "accept" else None)  # type: ignore[arg-type]

    async def main() -> Any:
        kw = {"elicitation_callback": elicit} if answer else {}
        async with Client(build_server(harness.app), mode=mode, **kw) as client:
            return await client.call_tool("generate_dockerfile", {"path": str(repo), "write": True})

    result = anyio.run(main)
    assert not result.is_error, result.content
    data = result.structured_content
    assert len(questions) == (1 if answer else 0) and all(str(repo) in q for q in questions)
    if answer == "accept":
        assert data["files"][0]["action"] == "replaced" and (repo / "Dockerfile").read_text() == data["dockerfile"]
        assert harness.app.services.store.get_artifact(data["files"][0]["previous_artifact"])[1].decode() == mine
    else:
        assert data["files"][0]["action"] == "proposed" and (repo / "Dockerfile").read_text() == mine
        assert any("force=true" in w for w in data["warnings"])
