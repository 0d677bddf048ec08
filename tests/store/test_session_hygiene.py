"""Sessions: a call that needs none creates none; eviction spares what can be resumed and removes empty ones first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from containerkit.app import build_app
from containerkit.settings import load_settings
from tests.conftest import FIXTURE_REPOS, Harness
from tests.mcp_adapter.test_mcp import run_client


def _sessions(harness: Harness) -> set[str]:
    return {s.id for s in harness.app.services.store.list_sessions()}


def test_read_only_calls_without_a_session_create_none(harness: Harness, tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text('FROM debian:bookworm-slim\nUSER 10001\nCMD ["true"]\n')

    async def body(client: Client) -> Any:
        out = []
        for _ in range(3):
            out.append(await client.call_tool("db_status", {}))
            out.append(await client.call_tool("server_status", {"check_engine": False}))
            out.append(await client.call_tool("analyze_repository", {"path": str(FIXTURE_REPOS / "python-flask")}))
            out.append(await client.call_tool("validate_dockerfile", {"path": str(dockerfile)}))
            out.append(await client.call_tool("list_workflow_runs", {}))
        return out

    results = run_client(harness, body)
    assert all(not r.is_error for r in results), [r.content[0].text for r in results if r.is_error]
    assert _sessions(harness) == set()
    analysis = next(r for r in results if "analysis" in (r.structured_content or {}))
    assert analysis.structured_content["analysis"]["services"] and analysis.structured_content["session_id"] == ""


def test_a_read_only_call_given_a_session_still_records_in_it(harness: Harness) -> None:
    sid = harness.app.services.store.create_session().id
    result = harness.call("analyze_repository", path=str(FIXTURE_REPOS / "python-flask"), session_id=sid)
    assert result.session_id == sid and "analysis" in harness.app.services.store.get_state(sid)[0]


def test_eviction_spares_resumable_runs_and_removes_empty_sessions_first(
    ck_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINERKIT_STORE__MAX_SESSIONS", "3")
    app = build_app(load_settings())
    harness = Harness(app=app, home=ck_home)
    try:
        missing = tmp_path / "missing"
        spec = f"name: fails\nsteps:\n  - {{id: lint, tool: validate_dockerfile, params: {{path: {missing}}}}}\n"

        async def body(client: Client) -> Any:
            failed = await client.call_tool("execute_custom_workflow", {"spec": spec})
            stateful = await client.call_tool("generate_dockerfile", {"path": str(FIXTURE_REPOS / "python-flask")})
            empties = [
                await client.call_tool("tag_image", {"source": "no-such-image:1", "target": "x:1"}) for _ in range(5)
            ]
            return failed, stateful, empties

        failed, stateful, empties = run_client(harness, body)
        import json

        resumable = json.loads(failed.content[1].text)["details"]["session_id"]
        kept = stateful.structured_content["session_id"]
        assert all(e.is_error for e in empties)
        live = _sessions(harness)
        assert resumable in live and kept in live and len(live) == 3
        # the resumable run's session survives even once only sessions that hold something are left
        for _ in range(3):
            harness.call("generate_dockerfile", path=str(FIXTURE_REPOS / "python-flask"))
        assert resumable in _sessions(harness) and kept not in _sessions(harness)
    finally:
        app.services.store.close()
