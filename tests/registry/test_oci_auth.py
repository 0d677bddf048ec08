"""OCI client auth flows and the credential chain.

Bearer: the local registries only speak Basic, so a small ASGI token front (a faithful
implementation of the token flow: 401 + WWW-Authenticate Bearer challenge, a realm that
exchanges Basic credentials for a token) forwards authorised requests to the real open registry.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from containerkit.errors import ContainerKitError
from containerkit.imageref import parse_reference
from containerkit.registry.credentials import CredentialResolver, make_credentials
from containerkit.registry.oci import OciClient, parse_challenge
from containerkit.settings import RegistrySettings
from tests.conftest import OPEN_REGISTRY
from tests.registry.helpers import small_image, unique_repo

TOKEN = "tok-" + "z" * 20


class BearerFront:
    """ASGI app: /token (Basic user:pass -> token) and /v2/* (Bearer token required, then proxied)."""

    def __init__(self, upstream: str, user: str, password: str) -> None:
        self.upstream, self.user, self.password = upstream, user, password
        self.token_requests: list[dict[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        if scope["path"] == "/token":
            query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
            self.token_requests.append(query)
            expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            if headers.get("authorization") != expected:
                return await _respond(send, 401, b'{"details":"bad credentials"}', {})
            return await _respond(
                send, 200, json.dumps({"token": TOKEN}).encode(), {"content-type": "application/json"}
            )
        if headers.get("authorization") != f"Bearer {TOKEN}":
            challenge = 'Bearer realm="http://front/token",service="front",scope="repository:x:pull"'
            return await _respond(send, 401, b"{}", {"www-authenticate": challenge})
        forward = {k: v for k, v in headers.items() if k in ("accept", "content-type")}
        async with httpx.AsyncClient() as client:
            url = f"http://{self.upstream}{scope['path']}" + (
                f"?{scope['query_string'].decode()}" if scope["query_string"] else ""
            )
            up = await client.request(scope["method"], url, headers=forward, content=body)
        keep = {k: v for k, v in up.headers.items() if k.lower() in ("content-type", "docker-content-digest", "link")}
        await _respond(send, up.status_code, up.content, keep)


async def _respond(send: Any, status: int, body: bytes, headers: dict[str, str]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})


def test_challenge_parsing() -> None:
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.io/token",service="registry.io",scope="repository:a/b:pull,push"'
    )
    assert scheme == "bearer" and params == {
        "realm": "https://auth.io/token",
        "service": "registry.io",
        "scope": "repository:a/b:pull,push",
    }


def test_bearer_token_flow_lists_tags_and_retags(docker_client: Any, local_registry: str, harness: Any) -> None:
    ref = f"{local_registry}/{unique_repo()}:1"
    small_image(docker_client, ref)
    harness.call("push_image", reference=ref)
    front = BearerFront(OPEN_REGISTRY, "alice", "s3cret-pw")
    repo = parse_reference(ref)

    async def main() -> tuple[list[str], str, list[str]]:
        creds = make_credentials("alice", "s3cret-pw", "explicit")
        async with OciClient("front", creds, insecure=["front"], transport=httpx.ASGITransport(app=front)) as oci:
            before = await oci.list_tags(repo.repository)
            digest = await oci.retag(repo, "blue")
            after = await oci.list_tags(repo.repository)
        return before, digest, after

    before, digest, after = anyio.run(main)
    assert before == ["1"] and sorted(after) == ["1", "blue"] and digest.startswith("sha256:")
    assert front.token_requests and front.token_requests[0]["service"] == "front"


def test_bearer_flow_with_wrong_credentials_is_registry_auth() -> None:
    front = BearerFront(OPEN_REGISTRY, "alice", "right")

    async def main() -> None:
        async with OciClient(
            "front",
            make_credentials("alice", "wrong-pw", "explicit"),
            insecure=["front"],
            transport=httpx.ASGITransport(app=front),
        ) as oci:
            await oci.list_tags("any/repo")

    with pytest.raises(ContainerKitError) as info:
        anyio.run(main)
    assert info.value.code == "REGISTRY_AUTH" and "Check the username" in info.value.hint


def test_unreachable_registry_is_network() -> None:
    async def main() -> None:
        async with OciClient("127.0.0.1:9", insecure=["127.0.0.1:9"]) as oci:
            await oci.list_tags("a/b")

    with pytest.raises(ContainerKitError) as info:
        anyio.run(main)
    assert info.value.code == "NETWORK" and info.value.retryable


# --- credential chain -----------------------------------------------------------------------------


def _resolve(settings: RegistrySettings, environ: dict[str, str], registry: str, explicit: Any = None) -> Any:
    return anyio.run(lambda: CredentialResolver(settings, environ).resolve(registry, explicit))


def test_docker_config_auths_are_decoded(tmp_path: Path) -> None:
    auth = base64.b64encode(b"bob:pa55-word").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"https://reg.example.com": {"auth": auth}}}))
    creds = _resolve(RegistrySettings(), {"DOCKER_CONFIG": str(tmp_path)}, "reg.example.com")
    assert (
        creds.username == "bob" and creds.password.get_secret_value() == "pa55-word" and "docker config" in creds.source
    )
    assert _resolve(RegistrySettings(), {"DOCKER_CONFIG": str(tmp_path)}, "other.io") is None


def test_precedence_explicit_then_settings_then_docker_config(tmp_path: Path) -> None:
    auth = base64.b64encode(b"cfg:cfg-pw").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"reg.io": {"auth": auth}}}))
    env = {"DOCKER_CONFIG": str(tmp_path)}
    settings = RegistrySettings(username="envuser", password="env-pw")  # type: ignore[arg-type]
    assert _resolve(settings, env, "reg.io").username == "envuser"
    explicit = make_credentials("me", "mine-pw", "explicit")
    assert _resolve(settings, env, "reg.io", explicit).username == "me"
    scoped = RegistrySettings(username="envuser", password="env-pw", registry="elsewhere.io")  # type: ignore[arg-type]
    assert _resolve(scoped, env, "reg.io").username == "cfg"


def test_credential_helper_is_asked_with_the_server_on_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-cktest"
    helper.write_text(
        '#!/bin/sh\nread server\nprintf \'{"ServerURL":"%s","Username":"helperuser","Secret":"helper-pw-%s"}\' '
        '"$server" "$server"\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "config.json").write_text(json.dumps({"credHelpers": {"reg.io": "cktest"}, "credsStore": "cktest"}))
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    env = {"DOCKER_CONFIG": str(tmp_path)}
    creds = _resolve(RegistrySettings(), env, "reg.io")
    assert creds.username == "helperuser" and creds.password.get_secret_value() == "helper-pw-reg.io"
    assert creds.source == "docker-credential-cktest"
    store = _resolve(RegistrySettings(), env, "other.io")  # falls through to credsStore
    assert store.password.get_secret_value() == "helper-pw-other.io"
    from containerkit.redaction import redact

    assert redact("x helper-pw-reg.io y") == "x *** y"
