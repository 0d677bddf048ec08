"""Where the engine is: DOCKER_HOST + TLS env, docker contexts, or a Podman socket.

Resolution order (the Docker CLI's): ``settings.engine.docker_host`` > ``DOCKER_HOST``
(with ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``) > ``DOCKER_CONTEXT`` > ``currentContext``
in the Docker config > the default local socket. The environment is passed in
(never read here) so the composition root decides what it is.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import urllib3.exceptions
from docker.errors import DockerException
from docker.tls import TLSConfig
from docker.utils import kwargs_from_env
from requests.exceptions import RequestException

from containerkit.errors import EngineUnavailableError

#: The oldest Engine API the build/push/pull code is written against (Docker 1.13+).
MIN_API_VERSION = (1, 25)
DEFAULT_SOCKET = "unix:///var/run/docker.sock"

#: what the engine's transport raises when the engine is gone or its connection broke: docker-py's and requests'
#: errors, urllib3's (a stream cut in the middle of a build: ProtocolError "IncompleteRead" escaped unmapped, and a
#: pool could not tell the engine had died), and the socket's
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    DockerException,
    RequestException,
    urllib3.exceptions.HTTPError,
    OSError,
)


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
    config_dir = _docker_config_dir(environ)
    name = environ.get("DOCKER_CONTEXT") or _current_context(config_dir)
    if name and name != "default":
        return _context_endpoint(config_dir, name, from_env="DOCKER_CONTEXT" in environ)
    return EngineEndpoint(DEFAULT_SOCKET, "default socket")


def _docker_config_dir(environ: Mapping[str, str]) -> Path:
    if environ.get("DOCKER_CONFIG"):
        return Path(environ["DOCKER_CONFIG"]).expanduser()
    return Path(environ.get("HOME", str(Path.home()))) / ".docker"


def _current_context(config_dir: Path) -> str | None:
    try:
        data = json.loads((config_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("currentContext") if isinstance(data, dict) else None
    return str(value) if value else None


def _context_endpoint(config_dir: Path, name: str, *, from_env: bool) -> EngineEndpoint:
    """The docker endpoint of a CLI context (``contexts/meta/<sha256(name)>/meta.json`` + ``contexts/tls``)."""
    context_id = hashlib.sha256(name.encode()).hexdigest()
    meta_file = config_dir / "contexts" / "meta" / context_id / "meta.json"
    origin = "DOCKER_CONTEXT" if from_env else f"currentContext in {config_dir / 'config.json'}"
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        docker_ep = meta["Endpoints"]["docker"]
        host = str(docker_ep["Host"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise EngineUnavailableError(
            f"docker context {name!r} (from {origin}) cannot be read from {meta_file}",
            hint="Check `docker context ls`; unset DOCKER_CONTEXT or run `docker context use default`.",
            retryable=False,
        ) from e
    tls_dir = config_dir / "contexts" / "tls" / context_id / "docker"
    tls = None
    if tls_dir.is_dir() or host.startswith("https://") or not docker_ep.get("SkipTLSVerify", True):
        ca, cert, key = tls_dir / "ca.pem", tls_dir / "cert.pem", tls_dir / "key.pem"
        if ca.exists() or cert.exists():
            tls = TLSConfig(
                client_cert=(str(cert), str(key)) if cert.exists() and key.exists() else None,
                ca_cert=str(ca) if ca.exists() else None,
                verify=not docker_ep.get("SkipTLSVerify", False),
            )
    return EngineEndpoint(host, f"docker context {name} ({origin})", tls)


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
