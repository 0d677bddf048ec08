"""Two MCP servers (``serve --transport http``) on one PostgreSQL store: what one writes the other serves, and fifty
concurrent writes through both land."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from containerkit.store import SessionStore
from tests.conftest import start_http_server

TOKEN = "shared-t0ken-" + "y" * 16


async def _call(port: int, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client,
    ):
        result = await client.call_tool(tool, args)
        assert not result.is_error, result
        assert result.structured_content is not None
        return result.structured_content


def test_two_servers_on_one_postgres_store_share_sessions_and_lose_no_concurrent_write(
    tmp_path: Path, postgres_url: str
) -> None:
    env = {"CONTAINERKIT_STORE__URL": postgres_url, "CONTAINERKIT_MCP__AUTH_TOKEN": TOKEN}
    # separate homes: nothing is shared but the database
    servers = [start_http_server(tmp_path / name, **env) for name in ("a", "b")]
    sid = SessionStore(postgres_url, tmp_path / "workspaces").create_session().id
    try:
        ports = [port for _, port in servers]

        async def main() -> tuple[dict[str, Any], dict[str, Any]]:
            await _call(ports[0], "add_session_label", {"session_id": sid, "label": "made-on-a"})

            async def label(i: int) -> None:
                await _call(ports[i % 2], "add_session_label", {"session_id": sid, "label": f"l{i:02d}"})

            async with anyio.create_task_group() as tg:
                for i in range(50):
                    tg.start_soon(label, i)
            status = await _call(ports[1], "server_status", {"check_engine": False})
            return await _call(ports[1], "get_session", {"session_id": sid}), status

        session, status = anyio.run(main)
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=15)
    assert sorted(session["session"]["labels"]) == sorted(["made-on-a", *(f"l{i:02d}" for i in range(50))])
    assert status["store_path"].startswith("postgresql://ck:***@")  # the password is never shown
    jobs = session["jobs"]
    # the label writes through both servers, all finished (a read-only call such as this get_session is written
    # when it ends, so it is not in its own listing)
    assert len(jobs) == 20 and {j["tool"] for j in jobs} == {"add_session_label"}
    assert {j["status"] for j in jobs} == {"succeeded"}


def test_health_and_readiness_answer_without_a_token_and_readiness_follows_the_store(
    tmp_path: Path, postgres_url: str
) -> None:
    import httpx

    from tests.conftest import free_port

    canary = "canary-pg-ready-77e1"
    dead = f"postgresql://ck:{canary}@127.0.0.1:{free_port()}/nothing"
    servers = [
        start_http_server(tmp_path / "up", CONTAINERKIT_STORE__URL=postgres_url, CONTAINERKIT_MCP__AUTH_TOKEN=TOKEN),
        start_http_server(tmp_path / "down", CONTAINERKIT_STORE__URL=dead, CONTAINERKIT_MCP__AUTH_TOKEN=TOKEN),
    ]
    try:
        (_, up), (_, down) = servers
        assert httpx.get(f"http://127.0.0.1:{up}/healthz", timeout=10).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{up}/readyz", timeout=30).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{up}/mcp", timeout=10).status_code == 401  # the rest still needs the token
        assert httpx.get(f"http://127.0.0.1:{down}/healthz", timeout=10).status_code == 200
        not_ready = httpx.get(f"http://127.0.0.1:{down}/readyz", timeout=30)
        assert not_ready.status_code == 503 and not_ready.json() == {"status": "unavailable", "code": "STORE_ERROR"}
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=15)
    for proc, _ in servers:
        assert proc.stderr is not None and canary not in proc.stderr.read()
