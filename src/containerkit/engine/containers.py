"""The containers we start (sandbox runs and smoke tests; ``containerkit.sandbox`` decides what runs, this module is
how it reaches the engine): hardened, bounded, labelled with their deadline, never left behind.

Every container carries ``containerkit.sandbox`` (what it is) and ``containerkit.deadline`` (epoch seconds after which
it
must not exist). Three things enforce the deadline, so a killed CLI or server leaves nothing running:

* the caller kills and removes the container at its timeout (the normal path);
* a detached watchdog process (``python -m containerkit.engine.containers ID DEADLINE``, in its own session so a
  ``kill -9`` of the caller does not take it down) removes it at the deadline if it still exists; the caller stops the
  watchdog when it removed the container itself;
* :func:`reap_expired` — run on the first engine use of every process — removes every container of ours whose deadline
  has passed (found by label: never anyone else's).

The engine keeps at most ``LOG_MAX_SIZE`` of a container's output: our output is captured and capped from the attach
stream, so the engine's own log file must not grow without bound (``yes`` wrote 778 MB in 25 s before).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from typing import Any, Protocol

from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from containerkit.errors import EngineError, EngineUnavailableError, InvalidInputError, NotFoundError

#: what a call on a container can raise when the engine fails or goes away (callers outside this package catch these
#: instead of importing docker-py: the engine's client library stays inside ``containerkit.engine``)
ENGINE_ERRORS: tuple[type[Exception], ...] = (DockerException, RequestsConnectionError)
#: the same, and what reading a container's stream or stats can raise besides (a closed socket, a bad frame)
STREAM_ERRORS: tuple[type[Exception], ...] = (*ENGINE_ERRORS, OSError, ValueError)
#: a blocking wait on the engine (``container.wait(timeout=…)``) that ran out of time
WAIT_TIMEOUT: tuple[type[BaseException], ...] = (ReadTimeout, RequestsConnectionError)


class Bounds(Protocol):
    """The resource bounds of a container (``sandbox.policy.Limits`` is one)."""

    @property
    def memory_mb(self) -> int: ...
    @property
    def cpus(self) -> float: ...
    @property
    def pids(self) -> int: ...


LABEL = "containerkit.sandbox"
DEADLINE_LABEL = "containerkit.deadline"
NOBODY = "65534:65534"
LOG_MAX_SIZE = "1m"
LOG_CONFIG = {"type": "json-file", "config": {"max-size": LOG_MAX_SIZE, "max-file": "1"}}
GRACE_S = 15.0  # past the caller's own timeout, before the watchdog and the reaper step in


def host_config_kwargs(limits: Bounds, *, read_only: bool = True) -> dict[str, Any]:
    """The hardening and the bounds every container of ours gets."""
    return {
        "read_only": read_only,
        "tmpfs": {"/tmp": "rw,nosuid,nodev,size=64m"},  # noqa: S108 - the container's own tmpfs
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "mem_limit": f"{limits.memory_mb}m",
        "memswap_limit": f"{limits.memory_mb}m",  # no swap: the memory limit is real
        "nano_cpus": int(limits.cpus * 1e9),
        "pids_limit": limits.pids,
        "log_config": LOG_CONFIG,
    }


def labels(kind: str, deadline: float, **extra: str) -> dict[str, str]:
    return {LABEL: kind, DEADLINE_LABEL: str(int(deadline)), **extra}


def create(client: Any, image: str, command: list[str] | None, **kwargs: Any) -> Any:
    """``containers.create`` with our errors: a missing image is IMAGE_NOT_FOUND (never an implicit pull), a request the
    engine refuses is INVALID_INPUT, an absent engine is ENGINE_UNAVAILABLE."""
    try:
        return client.containers.create(image, command, detach=True, **kwargs)
    except ImageNotFound as e:
        raise EngineError(
            f"image {image} is not available locally",
            code="IMAGE_NOT_FOUND",
            hint="Build or pull it first ({tool:pull_image IMAGE}).",
        ) from e
    except APIError as e:
        if e.status_code == 400:
            raise InvalidInputError(
                f"the engine refused the container for {image}: {_explanation(e)}",
                hint="Check the environment variables and the command.",
            ) from e
        raise EngineUnavailableError(f"cannot create a container for {image}: {_explanation(e)}") from e
    except (DockerException, RequestsConnectionError) as e:
        raise EngineUnavailableError(f"cannot create a container for {image}: {e}") from e


def start(container: Any, image: str, command: list[str] | None) -> None:
    """Start it; a command that cannot be executed in the image is INVALID_INPUT naming the command (not INTERNAL)."""
    try:
        container.start()
    except APIError as e:
        what = f"the command {' '.join(command)!r}" if command else "the image's command"
        if e.status_code in (400, 500) and ("exec" in _explanation(e) or "executable" in _explanation(e)):
            raise InvalidInputError(
                f"{what} cannot be started in {image}: {_explanation(e)}",
                hint="Use a program that exists in the image (an absolute path, or a name on its PATH).",
            ) from e
        raise EngineUnavailableError(f"cannot start the container for {image}: {_explanation(e)}") from e
    except (DockerException, RequestsConnectionError) as e:
        raise EngineUnavailableError(f"cannot start the container for {image}: {e}") from e


def _explanation(e: APIError) -> str:
    return str(e.explanation or e)


def image_config(client: Any, image: str) -> dict[str, Any]:
    """The image's configuration (``Config`` of its inspect), or {} when the engine has no such image."""
    try:
        return dict(client.images.get(image).attrs.get("Config") or {})
    except ENGINE_ERRORS:
        return {}


def save_image(client: Any, image: str, out: Any) -> None:
    """Write ``docker save`` of ``image`` (unnamed) to the binary file ``out``.

    Raises:
        NotFoundError: the image is not in the local engine.
        EngineError: the engine failed to export it.
    """
    try:
        for chunk in client.images.get(image).save(named=False):
            out.write(chunk)
    except ImageNotFound as e:
        raise NotFoundError(f"image {image} is not in the local engine", hint="Build or pull it first.") from e
    except ENGINE_ERRORS as e:
        raise EngineError(f"cannot export image {image}: {e}") from e
    out.flush()


def remove_quietly(container: Any) -> None:
    try:
        container.remove(force=True, v=True)
    except NotFound:
        pass
    except DockerException:
        time.sleep(0.5)  # the engine may still be tearing the container down
        with contextlib.suppress(DockerException):
            container.remove(force=True, v=True)


def reap_expired(client: Any, now: float | None = None) -> list[str]:
    """Remove our containers whose deadline has passed (left by a killed process); returns their short ids."""
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        # sparse: the list answer carries the labels; a full list inspects each container and fails with NotFound when
        # one is removed meanwhile (another process's run finishing)
        found = client.containers.list(all=True, sparse=True, filters={"label": DEADLINE_LABEL})
    except (DockerException, RequestsConnectionError):
        return removed
    for container in found:
        container_labels = container.attrs.get("Labels") or {}
        if LABEL not in container_labels:
            continue
        try:
            deadline = float(container_labels[DEADLINE_LABEL])
        except (KeyError, ValueError):
            continue
        if deadline < now:
            remove_quietly(container)
            removed.append(container.id[:12])
    return removed


class Watchdog:
    """A detached process that removes one container at its deadline unless stopped first."""

    def __init__(self, container_id: str, deadline: float, base_url: str | None) -> None:
        argv = [sys.executable, "-m", "containerkit.engine.containers", container_id, str(deadline)]
        if base_url:
            argv.append(base_url)
        self._proc: subprocess.Popen[bytes] | None
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        except OSError:
            self._proc = None  # the reaper is the backstop

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)


def _watch(container_id: str, deadline: float, base_url: str | None) -> int:
    import docker  # imported while waiting, so the removal starts at the deadline even on a loaded machine
    from docker.utils import kwargs_from_env

    kwargs = kwargs_from_env(environment=dict(os.environ))  # TLS settings of the inherited environment
    if base_url:
        kwargs["base_url"] = base_url
    while (left := deadline - time.time()) > 0:
        time.sleep(min(left, 30.0))
    try:
        client = docker.DockerClient(timeout=60, **kwargs)
        container = client.containers.get(container_id)
    except (DockerException, RequestsConnectionError):
        return 0
    if LABEL in (container.labels or {}):
        remove_quietly(container)
    return 0


if __name__ == "__main__":
    sys.exit(_watch(sys.argv[1], float(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None))
