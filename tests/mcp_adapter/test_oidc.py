"""OIDC bearer tokens on the HTTP transport, against a real authorization server (Ory Hydra, built from its Go module
by scripts/testenv): a good token's scopes choose the tools; an expired token, a token for another audience and a
scope that does not allow the tool are refused, each saying why; the protected-resource metadata points clients to
the issuer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import MCP_ACCEPT, MCP_INITIALIZE, TESTENV_STATE, start_http_server, unavailable

AUDIENCE = "containerkit-test"


@pytest.fixture
def hydra(request: pytest.FixtureRequest) -> dict[str, str]:
    path = TESTENV_STATE / "hydra"
    if not path.exists():
        unavailable(request, "the OIDC provider (Ory Hydra, scripts/testenv)")
    public, admin = path.read_text().split()
    try:
        httpx.get(f"{public}/.well-known/openid-configuration", timeout=5).raise_for_status()
    except httpx.HTTPError:
        unavailable(request, f"the OIDC provider at {public}")
    return {"public": public, "admin": admin}


def _client(hydra: dict[str, str], scope: str, lifespan: str | None = None) -> tuple[str, str]:
    client_id, secret = f"ck-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    created = httpx.post(
        f"{hydra['admin']}/admin/clients",
        json={
            "client_id": client_id,
            "client_secret": secret,
            "grant_types": ["client_credentials"],
            "scope": scope,
            "audience": [AUDIENCE, "someone-else"],
            "token_endpoint_auth_method": "client_secret_post",
            "access_token_strategy": "jwt",
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    if lifespan:
        set_life = httpx.put(
            f"{hydra['admin']}/admin/clients/{client_id}/lifespans",
            json={"client_credentials_grant_access_token_lifespan": lifespan},
            timeout=10,
        )
        assert set_life.status_code == 200, set_life.text
    return client_id, secret


def _token(hydra: dict[str, str], client: tuple[str, str], scope: str, audience: str = AUDIENCE) -> str:
    answer = httpx.post(
        f"{hydra['public']}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client[0],
            "client_secret": client[1],
            "scope": scope,
            "audience": audience,
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@pytest.fixture
def server(tmp_path: Path, hydra: dict[str, str]) -> Iterator[int]:
    proc, port = start_http_server(
        tmp_path / "home",
        CONTAINERKIT_MCP__OIDC_ISSUER=hydra["public"],
        CONTAINERKIT_MCP__OIDC_AUDIENCE=AUDIENCE,
    )
    yield port
    proc.terminate()
    proc.wait(timeout=15)


async def _session(port: int, token: str, body: Any) -> Any:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client,
    ):
        return await body(client)


def test_scopes_choose_the_tools_and_a_tool_outside_them_is_refused(server: int, hydra: dict[str, str]) -> None:
    client = _client(hydra, "containerkit containerkit:read")
    read_only = _token(hydra, client, "containerkit:read")
    everything = _token(hydra, client, "containerkit")

    async def listed(c: Client) -> set[str]:
        return {t.name for t in (await c.list_tools()).tools}

    read_tools = anyio.run(_session, server, read_only, listed)
    all_tools = anyio.run(_session, server, everything, listed)
    assert "get_session" in read_tools and "build_image" not in read_tools and "containerize" not in read_tools
    assert {"build_image", "containerize", "get_session"} <= all_tools

    async def build(c: Client) -> Any:
        try:
            return await c.call_tool("build_image", {"path": "/nonexistent"})
        except Exception as e:  # the refusal: a protocol error, as for an unknown tool
            return e

    refused = anyio.run(_session, server, read_only, build)
    assert isinstance(refused, Exception), refused
    text = str(refused)
    assert "containerkit:read" in text and "do not allow it" in text, text

    async def status(c: Client) -> Any:
        return await c.call_tool("server_status", {"check_engine": False})

    assert not anyio.run(_session, server, read_only, status).is_error


def test_an_expired_token_and_a_token_for_another_audience_are_refused_with_the_reason(
    server: int, hydra: dict[str, str]
) -> None:
    url = f"http://127.0.0.1:{server}/mcp"
    init, headers = MCP_INITIALIZE, MCP_ACCEPT

    def answer(token: str) -> httpx.Response:
        return httpx.post(url, json=init, headers={**headers, "authorization": f"Bearer {token}"}, timeout=10)

    other = _token(hydra, _client(hydra, "containerkit"), "containerkit", audience="someone-else")
    refused = answer(other)
    assert refused.status_code == 401 and "not for this server" in refused.headers["www-authenticate"]

    short = _client(hydra, "containerkit", lifespan="1s")
    token = _token(hydra, short, "containerkit")
    assert answer(token).status_code == 200
    time.sleep(1 + 5 + 1)  # its lifetime and the clock leeway
    expired = answer(token)
    assert expired.status_code == 401 and "expired" in expired.headers["www-authenticate"]

    missing = httpx.post(url, json=init, headers=headers, timeout=10)
    challenge = missing.headers["www-authenticate"]
    assert missing.status_code == 401 and "resource_metadata=" in challenge
    metadata_url = challenge.split('resource_metadata="', 1)[1].split('"', 1)[0]
    metadata = httpx.get(metadata_url, timeout=10).json()
    assert metadata["authorization_servers"] == [hydra["public"]] and metadata["resource"] == url
    assert "containerkit:read" in metadata["scopes_supported"]
