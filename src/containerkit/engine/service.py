"""The engine service: one object the tools get from ``ctx.services`` (key :class:`Engine`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio

from containerkit import tracing
from containerkit.engine import images
from containerkit.engine.api_build import ApiBuildStrategy
from containerkit.engine.builder import BuildOptions, BuildOutcome, LogSink, ProgressFn, run_build
from containerkit.engine.buildx import BuildxStrategy
from containerkit.engine.endpoint import (
    TRANSPORT_ERRORS,
    EngineEndpoint,
    check_api_version,
    current_environ,
    podman_endpoint,
    resolve_docker_endpoint,
    unavailable,
)
from containerkit.engine.images import LayerCallback
from containerkit.engine.models import ImageInfo, TransferOutcome
from containerkit.engine.strategy import BuildStrategy
from containerkit.engine.stream import streaming_post
from containerkit.errors import EngineUnavailableError
from containerkit.settings import EngineSettings, Settings


class Engine:
    """Build, tag, inspect, push and pull on the configured engine. No I/O until first use."""

    def __init__(self, settings: EngineSettings, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self._environ = dict(environ)
        self._client: Any = None
        self._version: dict[str, Any] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        return cls(settings.engine, current_environ())

    # endpoints and strategies ---------------------------------------------------------
    def docker_endpoint(self) -> EngineEndpoint:
        return resolve_docker_endpoint(self.settings.docker_host, self._environ)

    def strategies(self) -> list[BuildStrategy]:
        """In ``auto`` order: BuildKit (buildx), the Docker Engine API, a Podman socket."""
        return [
            BuildxStrategy(self.settings.docker_host, self._environ),
            ApiBuildStrategy("docker", self.docker_endpoint),
            ApiBuildStrategy("podman", lambda: podman_endpoint(self.settings.podman_socket, self._environ)),
        ]

    async def api(self) -> Any:
        """The low-level docker-py API client, checked reachable and recent enough (cached).

        Raises:
            EngineUnavailableError: unreachable or too old.
        """
        if self._client is None:
            endpoint = self.docker_endpoint()
            client = endpoint.client(timeout=120)
            try:
                version: dict[str, Any] = await anyio.to_thread.run_sync(client.version)
            except TRANSPORT_ERRORS as e:
                client.close()
                raise unavailable(endpoint, e) from e
            check_api_version(endpoint, str(version.get("ApiVersion", "0")))
            self._client, self._version = client, version
        return self._client.api

    async def client(self) -> Any:
        """The docker-py client (containers, images) on the same checked connection as :meth:`api` — the one client
        of this engine, closed by :meth:`close`.

        Raises:
            EngineUnavailableError: unreachable or too old.
        """
        await self.api()
        return self._client

    async def ping(self) -> tuple[bool, str]:
        """Whether the engine answers, and what it is (``Docker Engine - Community 26.1.5 (API 1.45)``) or why not."""
        try:
            await self.api()
        except EngineUnavailableError as e:
            return False, f"unreachable: {e.message}"
        name = (self._version.get("Platform") or {}).get("Name", "engine")
        return True, f"{name} {self._version.get('Version', '?')} (API {self._version.get('ApiVersion', '?')})"

    # operations ---------------------------------------------------------------------------
    async def build(self, options: BuildOptions, on_progress: ProgressFn, on_log: LogSink) -> BuildOutcome:
        with tracing.span("engine build", client=True):
            return await run_build(options, self.strategies(), on_progress, on_log)

    async def inspect(self, ref: str) -> ImageInfo:
        return await images.inspect(await self.api(), ref)

    async def tag(self, source: str, repository: str, tag: str) -> ImageInfo:
        api = await self.api()
        await images.tag(api, source, repository, tag)
        return await images.inspect(api, f"{repository}:{tag}")

    async def remove_image(self, ref: str) -> None:
        api = await self.api()
        await anyio.to_thread.run_sync(lambda: api.remove_image(ref, force=True))

    async def push(
        self, repository: str, tag: str, auth: dict[str, str] | None, on_layer: LayerCallback
    ) -> TransferOutcome:
        """One push attempt (retries are the caller's policy).

        Raises:
            RegistryAuthError / NotFoundError / NetworkError / RegistryError: classified failure.
        """
        api = await self.api()
        # an empty JSON body, as docker-py's own push sends
        headers = {**_auth_headers(api, auth), "Content-Type": "application/json"}
        start = streaming_post(api, "/images/{0}/push", repository, params={"tag": tag}, headers=headers, data="{}")
        with tracing.span("engine push", client=True):
            return await images.transfer(api, "push", f"{repository}:{tag}", start, on_layer)

    async def pull(
        self, repository: str, tag_or_digest: str, auth: dict[str, str] | None, on_layer: LayerCallback
    ) -> TransferOutcome:
        """One pull attempt. ``tag_or_digest`` is a tag or ``sha256:...``."""
        api = await self.api()
        headers = _auth_headers(api, auth)
        sep = "@" if tag_or_digest.startswith("sha256:") else ":"
        start = streaming_post(
            api, "/images/create", params={"fromImage": repository, "tag": tag_or_digest}, headers=headers
        )
        with tracing.span("engine pull", client=True):
            return await images.transfer(api, "pull", f"{repository}{sep}{tag_or_digest}", start, on_layer)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _auth_headers(api: Any, auth: dict[str, str] | None) -> dict[str, str]:
    from docker import auth as docker_auth

    if auth is None:
        # X-Registry-Auth must be present (even empty) or old daemons refuse the push
        return {"X-Registry-Auth": docker_auth.encode_header({})}
    return {"X-Registry-Auth": docker_auth.encode_header(auth)}
