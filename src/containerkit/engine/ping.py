"""Cheap reachability check of the container engine."""

from __future__ import annotations

import anyio
import docker
from docker.errors import DockerException


def _ping(docker_host: str | None) -> tuple[bool, str]:
    try:
        client = docker.DockerClient(base_url=docker_host, timeout=5) if docker_host else docker.from_env(timeout=5)
        try:
            version = client.version()
            name = version.get("Platform", {}).get("Name", "engine")
            return True, f"{name} {version.get('Version', '?')} (API {version.get('ApiVersion', '?')})"
        finally:
            client.close()
    except DockerException as e:
        return False, f"unreachable: {e}"


async def ping_engine(docker_host: str | None = None) -> tuple[bool, str]:
    return await anyio.to_thread.run_sync(_ping, docker_host)
