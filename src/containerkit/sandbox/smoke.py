"""The smoke run of a built image: start it with the sandbox's limits, wait until it answers, then stop it.

Failures are exceptions with codes the workflow routes on: SMOKE_EXITED (with the exit code and log lines),
SMOKE_WRONG_PORT (with the ports it does listen on), SMOKE_NO_ANSWER.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from containerkit.analysis.models import WRITABLE_LABEL
from containerkit.engine import containers
from containerkit.engine.containers import ENGINE_ERRORS, GRACE_S, Watchdog, host_config_kwargs, remove_quietly
from containerkit.errors import InvalidInputError, SmokeDetails, SmokeTestError
from containerkit.logcause import cause_of, last_line
from containerkit.sandbox.policy import Limits
from containerkit.sandbox.waits import HttpWait, StaysUpWait, TcpWait

POLL_S = 0.25
WRONG_PORT_AFTER_S = 4.0


@dataclass
class SmokeOutcome:
    protocol: str
    port: int | None
    host_port: int | None
    status_code: int | None
    detail: str
    duration_s: float
    listening_ports: list[int]
    logs_tail: str


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1 as /proc/net/tcp{,6} write them


def listening(pid: int) -> dict[int, bool]:
    """TCP ports in LISTEN state inside the container's network namespace (read from the host's /proc), each with
    whether it is reachable from outside the container (False: bound to the loopback address only)."""
    ports: dict[int, bool] = {}
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 3 and parts[3] == "0A":
                address, _, hex_port = parts[1].rpartition(":")
                port = int(hex_port, 16)
                ports[port] = ports.get(port, False) or address not in LOOPBACK
    return dict(sorted(ports.items()))


def writable_tmpfs(config: dict[str, Any]) -> dict[str, str]:
    """tmpfs mounts (path -> options) for the paths an image's config says its runtime writes (label
    org.containerkit.writable), besides /tmp: over a directory the image has, the engine makes a tmpfs root's with
    mode 755 whatever ``mode`` says, so a numeric USER gets ``uid=``/``gid=``."""
    paths = [
        p
        for p in str((config.get("Labels") or {}).get(WRITABLE_LABEL, "")).split()
        if p.startswith("/") and p != "/tmp"  # noqa: S108
    ]
    user, _, group = str(config.get("User") or "").partition(":")
    owner = f",uid={user},gid={group or user}" if user.isdigit() and (not group or group.isdigit()) else ""
    return {p: f"rw,nosuid,nodev,size=64m,mode=1777{owner}" for p in paths}


def _fail(
    code: str, message: str, hint: str, container: Any, details: SmokeDetails, *, why: bool = True
) -> SmokeTestError:
    """The error with the container's last log lines; ``why``: the message ends with the line that says why."""
    try:
        logs = container.logs(tail=40).decode("utf-8", "replace")
    except ENGINE_ERRORS:
        logs = ""
    cause = cause_of(logs) or last_line(logs) if why else None
    extra: SmokeDetails = {"cause": cause} if cause else {}
    return SmokeTestError(
        f"{message}: {cause}" if cause else message,
        code=code,
        hint=hint,
        details={**details, **extra, "log_tail": logs},
    )


def smoke_blocking(
    client: Any,
    image: str,
    *,
    port: int | None,
    wait: HttpWait | TcpWait | StaysUpWait,
    limits: Limits,
    env: dict[str, str],
    timeout_s: float,
    user: str | None = None,
    docker_base_url: str | None = None,
) -> SmokeOutcome:
    """Run the smoke test in this (worker) thread; the container is always removed."""
    kwargs = host_config_kwargs(limits)
    config = containers.image_config(client, image)  # a missing image fails in create() with IMAGE_NOT_FOUND
    kwargs["tmpfs"] = {**kwargs["tmpfs"], **writable_tmpfs(config)}
    ports = {f"{port}/tcp": ("127.0.0.1", None)} if port else None
    deadline_at = time.time() + max(timeout_s, getattr(wait, "grace_s", 0.0)) + GRACE_S
    container = containers.create(
        client,
        image,
        None,
        environment=env or None,
        ports=ports,
        labels=containers.labels("smoke", deadline_at),
        network_mode="bridge" if port else "none",
        **({"user": user} if user else {}),
        **kwargs,
    )
    watchdog = Watchdog(container.id, deadline_at, docker_base_url)
    started = time.monotonic()
    first_seen: float | None = None
    last = "not probed yet"
    try:
        try:
            containers.start(container, image, None)
        except InvalidInputError as e:  # the image's own command cannot run: the app did not start
            raise SmokeTestError(
                f"the container did not start: {e.message}",
                code="SMOKE_EXITED",
                hint="Fix the image's CMD/ENTRYPOINT: the program it names is not in the image.",
                details={"exit_code": None, "oom_killed": False, "log_tail": e.message},
            ) from e
        while True:
            container.reload()
            state = container.attrs.get("State", {})
            if state.get("Status") in ("exited", "dead"):
                code = state.get("ExitCode")
                raise _fail(
                    "SMOKE_EXITED",
                    f"the container exited with code {code} after {time.monotonic() - started:.1f}s"
                    + (" (killed: out of memory)" if state.get("OOMKilled") else ""),
                    "Read the log lines in the details: the app crashed at start (missing env var, wrong command, bad "
                    "config).",
                    container,
                    {"exit_code": code, "oom_killed": bool(state.get("OOMKilled"))},
                )
            elapsed = time.monotonic() - started
            if isinstance(wait, StaysUpWait):
                if elapsed >= wait.grace_s:
                    return SmokeOutcome(
                        "none",
                        None,
                        None,
                        None,
                        f"still running after {wait.grace_s:g}s",
                        round(elapsed, 2),
                        [],
                        container.logs(tail=10).decode("utf-8", "replace"),
                    )
            else:
                host_port = int(container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"][0]["HostPort"])
                bound = listening(int(state.get("Pid") or 0))
                listening_on = list(bound)
                if port in bound and not bound[port]:
                    first_seen = first_seen or time.monotonic()
                    if time.monotonic() - first_seen >= WRONG_PORT_AFTER_S:
                        raise _fail(
                            "SMOKE_LOOPBACK_ONLY",
                            f"the app listens on port {port} of the container's loopback "
                            "address only (127.0.0.1), which nothing outside the container can reach",
                            "Make the app bind 0.0.0.0 (all interfaces): its host or bind setting, flag or "
                            "environment variable; if the address is fixed in its code, change the code.",
                            container,
                            {"expected_port": port, "listening_ports": listening_on},
                            why=False,
                        )
                elif port in bound:
                    probe = wait.probe(host_port)
                    last = probe.detail
                    if probe.ready:
                        return SmokeOutcome(
                            "http" if isinstance(wait, HttpWait) else "tcp",
                            port,
                            host_port,
                            probe.status_code,
                            probe.detail,
                            round(elapsed, 2),
                            listening_on,
                            container.logs(tail=10).decode("utf-8", "replace"),
                        )
                elif listening_on:
                    first_seen = first_seen or time.monotonic()
                    if time.monotonic() - first_seen >= WRONG_PORT_AFTER_S:
                        raise _fail(
                            "SMOKE_WRONG_PORT",
                            f"the app listens on {', '.join(map(str, listening_on))}, not on the expected port {port}",
                            f"Use port {listening_on[0]} (regenerate the Dockerfile with --port {listening_on[0]}) or "
                            f"make the app listen on {port}"
                            " (set PORT).",
                            container,
                            {"expected_port": port, "listening_ports": listening_on},
                            why=False,
                        )
            if elapsed >= timeout_s:
                raise _fail(
                    "SMOKE_NO_ANSWER",
                    f"the app did not answer on port {port} within {timeout_s:g}s (last: {last})",
                    "Check the logs in the details; raise --timeout for slow starts.",
                    container,
                    {"expected_port": port, "listening_ports": listening_on if port else []},
                )
            time.sleep(POLL_S)
    finally:
        remove_quietly(container)
        watchdog.stop()
