"""Where the engine is: DOCKER_HOST + TLS env, docker contexts, or a Podman socket.

Resolution order (the Docker CLI's): ``settings.engine.docker_host`` > ``DOCKER_HOST``
(with ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``) > ``DOCKER_CONTEXT`` > ``currentContext``
in the Docker config > the default local socket. The environment is passed in
(never read here) so the composition root decides what it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.context import ContextAPI
from docker.errors import DockerException
from docker.utils import kwargs_from_env

from containerkit.errors import EngineUnavailableError

#: The oldest Engine API the build/push/pull code is written against (Docker 1.13+).
MIN_API_VERSION = (1, 25)
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class EngineEndpoint:
    """A resolved engine address; ``source`` says where it came from (for results and errors)."""

    base_url: str
    source: str
    tls: Any = field(default=None, compare=False)

    def client(self, *, timeout: int = 60) -> docker.DockerClient:
        """A docker-py client for this endpoint (no I/O until first use)."""
        kwargs: dict[str, Any] = {"base_url": self.base_url, "timeout": timeout, "version": "auto"}
        if self.tls is not None:
            kwargs["tls"] = self.tls
        try:
            return docker.DockerClient(**kwargs)
        except DockerException as e:
            raise unavailable(self, e) from e


def resolve_docker_endpoint(docker_host: str | None, environ: Mapping[str, str]) -> EngineEndpoint:
    """The Docker endpoint by the CLI's precedence rules (pure: reads only files and ``environ``)."""
    if docker_host:
        return EngineEndpoint(docker_host, "settings.engine.docker_host", _tls_from_env(environ))
    if environ.get("DOCKER_HOST"):
        return EngineEndpoint(environ["DOCKER_HOST"], "DOCKER_HOST", _tls_from_env(environ))
    context_name = environ.get("DOCKER_CONTEXT")
    try:
        ctx_kwargs = ContextAPI.kwargs_from_context(context_name, environment=dict(environ))
    except DockerException as e:
        raise EngineUnavailableError(
            f"docker context {context_name or '(current)'} cannot be read: {e}",
            hint="Check `docker context ls`; unset DOCKER_CONTEXT or fix ~/.docker/contexts.",
            retryable=False,
        ) from e
    if ctx_kwargs.get("base_url"):
        label = f"docker context {context_name}" if context_name else "docker context (currentContext)"
        return EngineEndpoint(str(ctx_kwargs["base_url"]), label, ctx_kwargs.get("tls"))
    return EngineEndpoint(DEFAULT_SOCKET, "default socket")


def podman_socket_candidates(configured: str | None, environ: Mapping[str, str]) -> list[Path]:
    """Where a Podman API socket may live: the setting, the rootless socket, the rootful one."""
    if configured:
        return [Path(configured.removeprefix("unix://"))]
    out: list[Path] = []
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime:
        out.append(Path(runtime) / "podman" / "podman.sock")
    out.append(Path("/run/podman/podman.sock"))
    return out


def podman_endpoint(configured: str | None, environ: Mapping[str, str]) -> EngineEndpoint:
    """The first existing Podman socket.

    Raises:
        EngineUnavailableError: no Podman socket exists.
    """
    candidates = podman_socket_candidates(configured, environ)
    for path in candidates:
        if path.exists():
            return EngineEndpoint(f"unix://{path}", f"podman socket {path}")
    raise EngineUnavailableError(
        "no Podman API socket found (looked at " + ", ".join(str(p) for p in candidates) + ")",
        hint="Start it with `systemctl --user start podman.socket` (or `podman system service`), "
        "or set CONTAINERKIT_ENGINE__PODMAN_SOCKET.",
        retryable=False,
        details={"candidates": [str(p) for p in candidates]},
    )


def check_api_version(endpoint: EngineEndpoint, api_version: str) -> None:
    """Refuse engines older than :data:`MIN_API_VERSION`."""
    try:
        got = tuple(int(p) for p in api_version.split(".")[:2])
    except ValueError:
        return
    if got < MIN_API_VERSION:
        raise EngineUnavailableError(
            f"engine at {endpoint.base_url} speaks API {api_version}, older than the required "
            f"{MIN_API_VERSION[0]}.{MIN_API_VERSION[1]}",
            hint="Upgrade the container engine.",
            retryable=False,
            details={"api_version": api_version},
        )


def unavailable(endpoint: EngineEndpoint, exc: BaseException) -> EngineUnavailableError:
    return EngineUnavailableError(
        f"container engine at {endpoint.base_url} ({endpoint.source}) is unreachable: {_short(exc)}",
        details={"endpoint": endpoint.base_url, "source": endpoint.source},
    )


def _tls_from_env(environ: Mapping[str, str]) -> Any:
    return kwargs_from_env(environment=dict(environ) or {"_": ""}).get("tls")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def current_environ() -> dict[str, str]:
    """The process environment, read once by the composition root's factory."""
    return dict(os.environ)
