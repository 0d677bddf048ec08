"""The MCP server through real clients: the SDK in-memory client, stdio and HTTP subprocesses, the Inspector CLI."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import unittest.mock
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from containerkit.mcp.server import build_server
from containerkit.tools.sessions import GetSessionResult, ServerStatusResult
from tests.conftest import (
    MCP_ACCEPT,
    MCP_INITIALIZE,
    ROOT,
    Harness,
    containers_now,
    free_port,
    server_env,
    start_http_server,
    unavailable,
)
from tests.mcp_adapter.helpers import make_test_app

#: every protocol version the SDK speaks: the initialize handshake (its client always offers the newest, 2025-11-25;
#: "legacy@V" makes it offer V), and 2026-07-28 (no handshake, no mid-call requests: input-required rounds)
PROTOCOLS = [
    *(pytest.param(f"legacy@{v}", id=v) for v in ("2024-11-05", "2025-03-26", "2025-06-18")),
    pytest.param("legacy", id="2025-11-25"),
    pytest.param("2026-07-28", id="2026-07-28"),
]


@contextlib.asynccontextmanager
async def open_client(server: Any, mode: str = "auto", **client_kw: Any) -> AsyncIterator[Client]:
    """An SDK client on ``mode`` (a PROTOCOLS value), checking the version it negotiated."""
    offered = mode.partition("@")[2]
    legacy = mode.startswith("legacy")
    with unittest.mock.patch("mcp.client.session.LATEST_HANDSHAKE_VERSION", offered or "2025-11-25"):
        async with Client(server, mode="legacy" if legacy else mode, **client_kw) as client:
            if legacy:
                assert client.protocol_version == (offered or "2025-11-25")
            yield client


def run_client(harness: Harness, body: Any, *, app: Any = None, mode: str = "auto", **client_kw: Any) -> Any:
    server = build_server(app or harness.app)

    async def main() -> Any:
        async with open_client(server, mode, **client_kw) as client:
            return await body(client)

    return anyio.run(main)


def test_every_registered_tool_is_listed_with_schemas_and_annotations(harness: Harness) -> None:
    async def body(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = {t.name: t for t in run_client(harness, body)}
    assert set(tools) == set(harness.app.registry.names())
    status = tools["server_status"]
    assert status.annotations is not None and status.annotations.read_only_hint is True
    assert status.output_schema is not None and "counts" in status.output_schema["properties"]
    assert tools["delete_session"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert "session_id" in tools["get_session"].input_schema["required"]


def test_structured_output_is_the_result_model(harness: Harness) -> None:
    sid = harness.app.services.store.create_session().id

    async def body(client: Client) -> Any:
        return await client.call_tool("get_session", {"session_id": sid}), await client.call_tool(
            "server_status", {"check_engine": False}
        )

    got, status = run_client(harness, body)
    assert not got.is_error and GetSessionResult.model_validate(got.structured_content).session.id == sid
    assert ServerStatusResult.model_validate(status.structured_content).counts.sessions == 1


def test_errors_reach_the_client_as_tool_errors_with_code_and_hint(harness: Harness) -> None:
    async def body(client: Client) -> Any:
        return [
            await client.call_tool("get_session", {"session_id": "nope"}),
            await client.call_tool("add_session_label", {"session_id": "x", "label": "bad label"}),
        ]

    missing, invalid = run_client(harness, body)
    for result, code in ((missing, "NOT_FOUND"), (invalid, "INVALID_INPUT")):
        assert result.is_error
        text = "\n".join(c.text for c in result.content)
        assert text.startswith(code) and "hint:" in text and "Traceback" not in text
        assert json.loads(result.content[1].text)["code"] == code


@pytest.mark.parametrize("mode", PROTOCOLS)
def test_progress_notifications_reach_the_client(harness: Harness, mode: str) -> None:
    events: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        events.append((progress, total, message))

    async def body(client: Client) -> Any:
        return await client.call_tool("count", {"steps": 3}, progress_callback=on_progress)

    result = run_client(harness, body, app=make_test_app(harness.app), mode=mode)
    assert not result.is_error
    assert [(int(p), int(t or 0), m) for p, t, m in events] == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


async def _sampling(ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    question = params.messages[0].content.text  # type: ignore[union-attr]
    return types.CreateMessageResult(
        role="assistant", content=types.TextContent(type="text", text=f"answer to {question}"), model="t"
    )


@pytest.mark.parametrize("mode", PROTOCOLS)
def test_sampling_round_trip_through_the_client(harness: Harness, mode: str) -> None:
    asked: list[str] = []

    async def sampling(ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        asked.append(params.messages[0].content.text)  # type: ignore[union-attr]
        return await _sampling(ctx, params)

    async def body(client: Client) -> Any:
        return await client.call_tool("ask", {"question": "why?"})

    result = run_client(harness, body, app=make_test_app(harness.app), sampling_callback=sampling, mode=mode)
    assert not result.is_error and result.structured_content["answer"] == "answer to why?"
    assert asked == ["why?"]  # asked once, whatever the number of rounds


@pytest.mark.parametrize("mode", PROTOCOLS)
def test_without_sampling_the_tool_knows_it_has_no_sampler(harness: Harness, mode: str) -> None:
    async def body(client: Client) -> Any:
        return await client.call_tool("ask", {"question": "why?"})

    result = run_client(harness, body, app=make_test_app(harness.app), mode=mode)
    assert result.is_error and result.content[0].text.startswith("TOOL_MISSING")


@pytest.mark.parametrize("mode", PROTOCOLS)
def test_client_roots_extend_the_allowed_paths(harness: Harness, tmp_path: Path, mode: str) -> None:
    outside = Path("/usr/share")

    async def roots(ctx: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=outside.as_uri(), name="share")])

    async def body(client: Client) -> Any:
        return await client.call_tool("where", {"path": str(outside / "doc")})

    refused = run_client(harness, body, app=make_test_app(harness.app), mode=mode)
    assert refused.is_error and refused.content[0].text.startswith("PATH_NOT_ALLOWED")
    allowed = run_client(harness, body, app=make_test_app(harness.app), mode=mode, list_roots_callback=roots)
    assert not allowed.is_error and allowed.structured_content["resolved"] == str(outside / "doc")


def test_sessions_and_artifacts_are_resources(harness: Harness) -> None:
    store = harness.app.services.store
    sid = store.create_session(labels=["web"]).id
    art = store.add_artifact(sid, "dockerfile", "Dockerfile", "FROM scratch\n")

    async def body(client: Client) -> Any:
        listed = await client.list_resources()
        templates = await client.list_resource_templates()
        session = await client.read_resource(f"session://{sid}")
        artifact = await client.read_resource(f"artifact://{art.id}")
        return listed, templates, session, artifact

    listed, templates, session, artifact = run_client(harness, body)
    assert f"session://{sid}" in [str(r.uri) for r in listed.resources]
    assert {t.uri_template for t in templates.resource_templates} == {"session://{id}", "artifact://{id}"}
    assert json.loads(session.contents[0].text)["session"]["labels"] == ["web"]
    assert artifact.contents[0].text == "FROM scratch\n"


def test_prompts_guide_the_pipeline(harness: Harness) -> None:
    async def body(client: Client) -> Any:
        names = [p.name for p in (await client.list_prompts()).prompts]
        got = await client.get_prompt("containerize_app", {"path": "/src/app", "registry": "127.0.0.1:5001"})
        return names, got

    names, got = run_client(harness, body)
    assert {"containerize_app", "fix_failed_build"} <= set(names)
    text = got.messages[0].content.text
    assert "`containerize` with" in text and "127.0.0.1:5001" in text


def test_cancellation_marks_the_job_cancelled(harness: Harness) -> None:
    app = make_test_app(harness.app)
    store = harness.app.services.store

    async def body(client: Client) -> Any:
        with anyio.move_on_after(0.5):
            await client.call_tool("count", {"steps": 100, "sleep": 0.1})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            jobs = [j for s in store.list_sessions() for j in store.list_jobs(s.id)]
            if jobs and jobs[0].status != "running":
                return jobs[0]
            await anyio.sleep(0.05)
        return jobs[0]

    job = run_client(harness, body, app=app, mode="legacy")
    assert job.status == "cancelled" and job.error_code == "CANCELLED"


# --- subprocess transports ---------------------------------------------------------------------


def test_stdio_transport_with_the_sdk_client(ck_home: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "containerkit", "serve"], env=server_env(ck_home), cwd=str(ROOT)
    )

    async def main() -> Any:
        async with Client(params) as client:
            tools = await client.list_tools()
            status = await client.call_tool("server_status", {"check_engine": False})
            return tools, status

    tools, status = anyio.run(main)
    assert "server_status" in {t.name for t in tools.tools}
    assert status.structured_content["version"]


def test_stdio_with_a_bad_setting_answers_the_handshake_and_each_call_names_the_setting(ck_home: Path) -> None:
    """Settings are read at the first request that needs them (initialize stays at the SDK's own cost): a bad value
    reaches the client as CONFIG_ERROR with its hint, and listing tools still works."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "containerkit", "serve"],
        cwd=str(ROOT),
        env=server_env(ck_home, CONTAINERKIT_STORE__TTL_HOURS="soon"),
    )

    async def main() -> Any:
        async with Client(params) as client:
            tools = await client.list_tools()
            return tools, await client.call_tool("list_sessions", {})

    tools, result = anyio.run(main)
    assert len(tools.tools) > 30
    assert result.is_error
    text = result.content[0].text
    assert text.startswith("CONFIG_ERROR") and "ttl_hours" in text, text


@pytest.fixture
def http_server(ck_home: Path) -> Iterator[tuple[int, str]]:
    token = "t0ken-" + "x" * 20
    proc, port = start_http_server(ck_home, CONTAINERKIT_MCP__AUTH_TOKEN=token)
    yield port, token
    proc.terminate()
    proc.wait(timeout=10)


def test_http_transport_requires_the_bearer_token(http_server: tuple[int, str]) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    port, token = http_server
    url = f"http://127.0.0.1:{port}/mcp"
    init, headers = MCP_INITIALIZE, MCP_ACCEPT
    assert httpx.post(url, json=init, headers=headers).status_code == 401
    assert httpx.post(url, json=init, headers={**headers, "authorization": "Bearer wrong"}).status_code == 401

    async def main() -> Any:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            return await client.call_tool("server_status", {"check_engine": False})

    result = anyio.run(main)
    assert not result.is_error and result.structured_content["tools"] >= 7


def test_non_loopback_bind_without_a_token_refuses_to_start(ck_home: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "containerkit", "serve", "-t", "http", "--host", "0.0.0.0", "--port", str(free_port())],
        env=server_env(ck_home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "CONFIG_ERROR" in out.stderr and "token" in out.stderr


def test_token_never_appears_in_output_or_store(ck_home: Path) -> None:
    token = "canary-token-9f8e7d6c5b4a"
    proc, port = start_http_server(ck_home, CONTAINERKIT_MCP__AUTH_TOKEN=token)
    try:
        httpx.post(f"http://127.0.0.1:{port}/mcp", json={}, headers={"authorization": "Bearer nope"})
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert token not in out + err
    assert all(token.encode() not in p.read_bytes() for p in ck_home.rglob("*") if p.is_file())


# --- the official MCP Inspector CLI --------------------------------------------------------------


def _inspector(request: pytest.FixtureRequest) -> str:
    exe = shutil.which("mcp-inspector")
    if exe is None:
        unavailable(request, "the MCP Inspector CLI (npm @modelcontextprotocol/inspector)")
    return str(exe)


def test_inspector_lists_tools_and_calls_one_over_stdio(request: pytest.FixtureRequest, ck_home: Path) -> None:
    exe = _inspector(request)
    server = [str(Path(sys.executable).parent / "containerkit"), "serve"]
    listed = subprocess.run(
        [exe, "--cli", *server, "--method", "tools/list"],
        env=server_env(ck_home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "server_status" in {t["name"] for t in json.loads(listed.stdout)["tools"]}
    called = subprocess.run(
        [exe, "--cli", *server, "--method", "tools/call", "--tool-name", "list_sessions"],
        env=server_env(ck_home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["structuredContent"]["sessions"] == []


def test_inspector_over_http(request: pytest.FixtureRequest, ck_home: Path) -> None:
    exe = _inspector(request)
    proc, port = start_http_server(ck_home)
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        listed = subprocess.run(
            [exe, "--cli", url, "--transport", "http", "--method", "tools/list"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listed.returncode == 0, listed.stderr
        assert "get_session" in {t["name"] for t in json.loads(listed.stdout)["tools"]}
        called = subprocess.run(
            [
                exe,
                "--cli",
                url,
                "--transport",
                "http",
                "--method",
                "tools/call",
                "--tool-name",
                "server_status",
                "--tool-arg",
                "check_engine=false",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert called.returncode == 0, called.stderr
        assert json.loads(called.stdout)["structuredContent"]["version"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _protocol_error(harness: Harness, call: Any, **client_kw: Any) -> MCPError:
    async def body(client: Client) -> Any:
        try:
            await call(client)
        except MCPError as e:
            return e
        raise AssertionError("no JSON-RPC error")

    return cast(MCPError, run_client(harness, body, **client_kw))


@pytest.mark.parametrize(("mode", "not_found"), [("legacy", -32002), ("auto", -32602)])
def test_resource_and_prompt_errors_are_json_rpc_errors_with_code_and_hint(
    harness: Harness, mode: str, not_found: int, capfd: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (lambda c: c.read_resource("artifact://nope"), not_found, "NOT_FOUND"),
        (lambda c: c.read_resource("session://nope"), not_found, "NOT_FOUND"),
        (lambda c: c.read_resource("ftp://x"), not_found, "NOT_FOUND"),
        (lambda c: c.get_prompt("no_such_prompt", {}), -32602, "INVALID_INPUT"),
        (lambda c: c.get_prompt("containerize_app", {}), -32602, "INVALID_INPUT"),
        (lambda c: c.call_tool("no_such_tool", {}), -32602, "NOT_FOUND"),
    ]
    for call, rpc_code, code in cases:
        error = _protocol_error(harness, call, mode=mode)
        assert error.code == rpc_code, (error.code, error.message)
        assert error.data["code"] == code and error.data["hint"] and error.message.startswith(code)
    assert "Traceback" not in capfd.readouterr().err


def test_binary_artifacts_are_served_as_base64_blobs(harness: Harness) -> None:
    import base64
    import gzip

    store = harness.app.services.store
    sid = store.create_session().id
    payload = gzip.compress(bytes(range(256)) * 8)
    art = store.add_artifact(sid, "workspace_changes", "changes.tar.gz", payload, media_type="application/gzip")
    text_art = store.add_artifact(sid, "report", "r.json", '{"a": "é"}', media_type="application/json")

    async def body(client: Client) -> Any:
        return await client.read_resource(f"artifact://{art.id}"), await client.read_resource(
            f"artifact://{text_art.id}"
        )

    blob, text = run_client(harness, body)
    assert blob.contents[0].mime_type == "application/gzip" and base64.b64decode(blob.contents[0].blob) == payload
    assert text.contents[0].text == '{"a": "é"}'


@pytest.mark.parametrize(
    ("tool", "args", "field"),
    [
        ("server_status", {"check_engine": "yes"}, "check_engine"),
        ("list_workflow_runs", {"limit": "10"}, "limit"),
        ("smoke_test_image", {"image": "x", "port": "8080"}, "port"),
    ],
)
def test_arguments_are_validated_strictly_against_the_schema(
    harness: Harness, tool: str, args: dict[str, Any], field: str
) -> None:
    async def body(client: Client) -> Any:
        return await client.call_tool(tool, args)

    result = run_client(harness, body)
    assert result.is_error and result.content[0].text.startswith("INVALID_INPUT") and field in result.content[0].text


_INIT, _ACCEPT = MCP_INITIALIZE, MCP_ACCEPT


@pytest.mark.parametrize("host", ["127.0.0.2", "127.1.2.3", "0:0:0:0:0:0:0:1", "::1"])
def test_every_loopback_form_refuses_foreign_origins(ck_home: Path, host: str) -> None:
    proc, port = start_http_server(ck_home, host=host)
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{port}/mcp"
    try:
        evil = httpx.post(url, json=_INIT, headers={**_ACCEPT, "origin": "http://evil.example"})
        rebound = httpx.post(url, json=_INIT, headers={**_ACCEPT, "host": f"evil.example:{port}"})
        own = httpx.post(url, json=_INIT, headers={**_ACCEPT, "origin": f"http://{url_host}:{port}"})
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert evil.status_code == 403 and rebound.status_code == 421
    assert own.status_code == 200, own.text


def test_the_bearer_scheme_is_case_insensitive(http_server: tuple[int, str]) -> None:
    port, token = http_server
    url = f"http://127.0.0.1:{port}/mcp"
    for scheme in ("bearer", "BEARER", "Bearer"):
        assert (
            httpx.post(url, json=_INIT, headers={**_ACCEPT, "authorization": f"{scheme} {token}"}).status_code == 200
        ), scheme
    assert httpx.post(url, json=_INIT, headers={**_ACCEPT, "authorization": f"Basic {token}"}).status_code == 401


def test_sigterm_drains_in_flight_calls_and_exits_0(ck_home: Path, docker_client: Any) -> None:
    import signal as _signal
    import threading

    from mcp.client.streamable_http import streamable_http_client

    proc, port = start_http_server(ck_home)
    outcome: dict[str, Any] = {}

    def call() -> None:
        async def main() -> Any:
            async with Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp")) as client:
                return await client.call_tool("run_sandboxed", {"command": ["sleep", "120"], "timeout_s": 300})

        try:
            outcome["result"] = anyio.run(main)
        except BaseException as e:  # the connection goes away with the server
            outcome["error"] = e

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    from containerkit.app import build_app
    from containerkit.settings import load_settings

    os.environ["CONTAINERKIT_HOME"] = str(ck_home)
    app = build_app(load_settings())
    try:
        deadline = time.monotonic() + 60
        running: list[Any] = []
        while time.monotonic() < deadline and not running:
            running = [
                j
                for s in app.services.store.list_sessions()
                for j in app.services.store.list_jobs(s.id)
                if j.tool == "run_sandboxed" and j.status == "running"
            ]
            time.sleep(0.2)
        assert running, "the call never started"
        proc.send_signal(_signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "stopped" in err
        job = app.services.store.get_job(running[0].id)
        assert job.status == "cancelled", job
        left = containers_now(docker_client, {"label": "containerkit.sandbox"})
        assert not [c for c in left if "sleep" in " ".join(c.attrs["Config"]["Cmd"] or [])]
    finally:
        app.services.store.close()
        if proc.poll() is None:
            proc.kill()
    worker.join(timeout=30)


@pytest.mark.parametrize("mode", PROTOCOLS)
def test_toolsets_and_read_only_limit_what_is_listed_and_callable(harness: Harness, mode: str) -> None:
    from containerkit.mcp.server import Exposure

    async def listed_and_refused(exposure: Exposure, refused_tool: str, args: dict[str, Any]) -> tuple[set[str], str]:
        async with open_client(build_server(harness.app, exposure=exposure), mode) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            with pytest.raises(MCPError) as refused:
                await client.call_tool(refused_tool, args)
            assert (await client.call_tool("list_sessions", {})).is_error is False
            return names, str(refused.value)

    specs = {s.name: s for s in harness.app.registry.specs()}
    names, refusal = anyio.run(listed_and_refused, Exposure.parse("sessions"), "analyze_repository", {"path": "."})
    assert names == {n for n, s in specs.items() if s.group in ("sessions", "general")}
    assert "toolset analysis" in refusal

    names, refusal = anyio.run(
        listed_and_refused, Exposure.parse(None, read_only=True), "delete_session", {"session_id": "x"}
    )
    assert names == {n for n, s in specs.items() if s.read_only} and "analyze_repository" in names
    assert "read-only" in refusal

    names, _ = anyio.run(
        listed_and_refused, Exposure.parse("analysis,sessions", read_only=True), "generate_dockerfile", {"path": "."}
    )
    assert names == {
        n for n, s in specs.items() if s.read_only and s.group in ("analysis", "dockerfile", "sessions", "general")
    }


def test_an_unknown_toolset_is_refused_at_start(ck_home: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "containerkit", "serve", "--toolsets", "analysis,bogus"],
        env=server_env(ck_home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert (
        out.returncode == 2 and "unknown toolset(s) bogus" in out.stderr and "Toolsets: analysis, build" in out.stderr
    )


def test_published_schemas_carry_no_derived_titles_and_results_no_descriptions(harness: Harness) -> None:
    async def body(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = run_client(harness, body)

    def keywords(node: Any, found: set[str]) -> set[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties":
                    for prop in value.values():
                        keywords(prop, found)
                elif key not in ("default", "enum", "const", "examples"):
                    if isinstance(value, str):
                        found.add(key)
                    keywords(value, found)
        elif isinstance(node, list):
            for item in node:
                keywords(item, found)
        return found

    for tool in tools:
        assert "title" not in keywords(tool.input_schema, set()), tool.name
        assert not {"title", "description"} & keywords(tool.output_schema, set()), tool.name
    assert any("description" in keywords(t.input_schema, set()) for t in tools)


@pytest.mark.parametrize("mode", PROTOCOLS)
def test_log_notifications_follow_the_clients_level_and_are_redacted(harness: Harness, mode: str) -> None:
    from containerkit.redaction import register_secret

    canary = "canary-" + "s3cr3t" * 4
    register_secret(canary)

    async def run(level: str | None) -> list[tuple[str, str]]:
        received: list[tuple[str, str]] = []

        async def on_log(params: types.LoggingMessageNotificationParams) -> None:
            received.append((params.level, str(params.data)))

        opt_in = {"log_level": level} if not mode.startswith("legacy") and level else {}
        async with open_client(
            build_server(make_test_app(harness.app)), mode, logging_callback=on_log, **opt_in
        ) as client:
            if mode.startswith("legacy") and level:
                await client.set_logging_level(level)  # type: ignore[arg-type]
            result = await client.call_tool("chatty", {"question": f"token {canary}"}, progress_callback=_ignore)
            assert not result.is_error
        return received

    everything = anyio.run(run, "info")
    assert ("warning", "about to answer token ***") in everything
    assert ("info", "answered token ***") in everything
    assert canary not in repr(everything)
    warnings_only = anyio.run(run, "warning")
    assert [lv for lv, _ in warnings_only] == ["warning"]
    default = anyio.run(run, None)  # legacy: warnings until the client sets a level; 2026-07-28: nothing unless asked
    assert [lv for lv, _ in default] == (["warning"] if mode.startswith("legacy") else [])


async def _ignore(progress: float, total: float | None, message: str | None) -> None:
    return None


@pytest.mark.parametrize("mode", PROTOCOLS)
def test_completions_offer_stored_session_and_artifact_ids(harness: Harness, mode: str) -> None:
    store = harness.app.services.store
    first, second = store.create_session().id, store.create_session().id
    dockerfile = store.add_artifact(first, "dockerfile", "Dockerfile", "FROM scratch\n")
    log = store.add_artifact(second, "build_log", "build.log", "ok\n")

    async def body(client: Client) -> Any:
        session_ref = types.ResourceTemplateReference(uri="session://{id}")
        artifact_ref = types.ResourceTemplateReference(uri="artifact://{id}")
        prompt_ref = types.PromptReference(name="fix_failed_build")
        return (
            await client.complete(session_ref, {"name": "id", "value": first[:6]}),
            await client.complete(session_ref, {"name": "id", "value": ""}),
            await client.complete(artifact_ref, {"name": "id", "value": "Docker"}),
            await client.complete(artifact_ref, {"name": "id", "value": log.id[:5]}),
            await client.complete(prompt_ref, {"name": "session_id", "value": second[:6]}),
            await client.complete(prompt_ref, {"name": "other", "value": ""}),
        )

    by_prefix, every, by_name, by_id, prompt, nothing = run_client(harness, body, mode=mode)
    assert by_prefix.completion.values == [first]
    assert {first, second} <= set(every.completion.values) and every.completion.total == len(every.completion.values)
    assert dockerfile.id in by_name.completion.values and log.id not in by_name.completion.values
    assert by_id.completion.values == [log.id]
    assert prompt.completion.values == [second]
    assert nothing.completion.values == []
