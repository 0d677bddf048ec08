"""Build through the Docker Engine API (docker-py): the Docker daemon or Podman's compatible socket."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import anyio
from docker.errors import APIError, NotFound

from containerkit.engine.endpoint import TRANSPORT_ERRORS, EngineEndpoint, check_api_version, unavailable
from containerkit.engine.strategy import BuildRequest, StepCallback
from containerkit.engine.stream import add_config_auth, json_stream, streaming_post
from containerkit.engine.tracker import StepTracker
from containerkit.errors import BuildError

_SUCCESS = re.compile(r"^Successfully built ([0-9a-f]{12,64})\s*$")


class EngineBuildError(Exception):
    """The engine reported a build error (message as the engine wrote it)."""


class ApiBuildStrategy:
    """``POST /build`` with a tar of the prepared context; progress from the JSON stream."""

    def __init__(self, name: str, endpoint: Callable[[], EngineEndpoint]) -> None:
        self.name = name
        self._endpoint_factory = endpoint
        self._endpoint: EngineEndpoint | None = None
        self._client: Any = None

    async def check(self) -> tuple[str, str]:
        endpoint = self._endpoint_factory()
        client = endpoint.client(timeout=15)
        try:
            version: dict[str, Any] = await anyio.to_thread.run_sync(client.version)
        except TRANSPORT_ERRORS as e:
            client.close()
            raise unavailable(endpoint, e) from e
        api_version = str(version.get("ApiVersion", "?"))
        check_api_version(endpoint, api_version)
        self._endpoint, self._client = endpoint, client
        name = version.get("Platform", {}).get("Name") or version.get("Components", [{}])[0].get("Name", "engine")
        return endpoint.base_url, (
            f"{name} {version.get('Version', '?')} reachable at {endpoint.base_url} ({endpoint.source}), API "
            f"{api_version}"
        )

    async def build(self, request: BuildRequest, tracker: StepTracker, on_step: StepCallback) -> str:
        if self._client is None:
            await self.check()
        api = self._client.api
        params = _params(request)
        headers = {"Content-Type": "application/tar"}
        add_config_auth(api, headers)  # base-image credentials from the Docker config, like `docker build`
        context_tar = request.context.tar()
        image_id: str | None = None
        error: str | None = None
        succeeded = False
        try:
            start = streaming_post(api, "/build", params=params, headers=headers, data=context_tar)
            pending = _Lines()
            async with json_stream(api, start) as chunks:
                async for chunk in chunks:
                    image_id = _aux_id(chunk) or image_id
                    if "error" in chunk:
                        for line in pending.flush():
                            tracker.feed(line)
                        error = str(chunk.get("error") or chunk.get("errorDetail", {}).get("message", "build failed"))
                        tracker.feed(error)
                        continue
                    for line in pending.lines(chunk):
                        step = tracker.feed(line)
                        image_id = _success_id(line) or image_id
                        if step is not None:
                            await on_step(step)
            for line in pending.flush():
                tracker.feed(line)
            if error is not None:
                raise EngineBuildError(error)
            if image_id is None:
                raise BuildError(
                    "the engine finished the build without reporting an image id", details={"log_tail": tracker.tail()}
                )
            succeeded = True
            return image_id if image_id.startswith("sha256:") else await self._full_id(image_id)
        except APIError as e:
            raise EngineBuildError(str(e.explanation or e)) from e
        except TRANSPORT_ERRORS as e:
            raise unavailable(self._endpoint or self._endpoint_factory(), e) from e
        finally:
            context_tar.close()
            if not succeeded:
                with anyio.CancelScope(shield=True):
                    await self._remove_containers(tracker.containers)

    async def _full_id(self, short: str) -> str:
        info: dict[str, Any] = await anyio.to_thread.run_sync(self._client.api.inspect_image, short)
        return str(info["Id"])

    async def _remove_containers(self, ids: list[str]) -> None:
        """Remove the intermediate containers of an interrupted build (the engine may not have yet)."""

        def remove() -> None:
            for cid in ids:
                try:
                    self._client.api.remove_container(cid, force=True)
                except NotFound:
                    continue
                except TRANSPORT_ERRORS:
                    continue

        if ids:
            await anyio.to_thread.run_sync(remove)


def _params(request: BuildRequest) -> dict[str, Any]:
    params: dict[str, Any] = {
        "t": list(request.tags),
        "dockerfile": request.context.dockerfile_in_context,
        "rm": "true",
        "forcerm": "true",
        "nocache": "true" if request.no_cache else "false",
        "buildargs": json.dumps(request.build_args),
        "labels": json.dumps(request.labels),
    }
    if request.target:
        params["target"] = request.target
    if request.platform:
        params["platform"] = request.platform
    return params


def _aux_id(chunk: dict[str, Any]) -> str | None:
    aux = chunk.get("aux")
    if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
        return str(aux["ID"])
    return None


def _success_id(line: str) -> str | None:
    m = _SUCCESS.match(line)
    return m.group(1) if m else None


_BREAK = re.compile(r"\r\n|\r|\n")


class _Lines:
    """The build's log as lines: the engine's ``stream`` chunks are pieces of output, not lines (apt's
    ``E: Unable to locate package x`` arrives as ``E``, ``: ``, ``Unable to locate package x\n``)."""

    def __init__(self) -> None:
        self.partial = ""

    def lines(self, chunk: dict[str, Any]) -> list[str]:
        if "stream" in chunk:
            *complete, self.partial = _BREAK.split(self.partial + str(chunk["stream"]))
            return [line.rstrip() for line in complete if line.strip()]
        status = chunk.get("status")
        if status and not chunk.get("progressDetail"):
            return [*self.flush(), f"{chunk.get('id', '')} {status}".strip()]
        return []

    def flush(self) -> list[str]:
        rest, self.partial = self.partial.rstrip(), ""
        return [rest] if rest.strip() else []
