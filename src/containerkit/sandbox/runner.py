"""Hardened, throwaway containers for untrusted commands: always removed, limits enforced by the engine."""

from __future__ import annotations

import contextlib
import difflib
import filecmp
import io
import os
import shutil
import tarfile
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio

from containerkit.engine import containers
from containerkit.engine.containers import GRACE_S, NOBODY, Watchdog, host_config_kwargs, remove_quietly
from containerkit.sandbox.policy import Limits

EndReason = Literal["exited", "timeout", "oom_killed", "output_truncated"]
DIFF_TEXT_MAX = 1024 * 1024  # larger changed files are in the archive, not in the unified diff


@dataclass
class RunSpec:
    image: str
    command: list[str]
    limits: Limits
    workspace: Path | None = None
    writable: bool = False
    env: dict[str, str] = field(default_factory=dict)
    user: str = NOBODY
    max_changes_bytes: int = 50 * 1024 * 1024
    docker_base_url: str | None = None


@dataclass
class RunOutcome:
    exit_code: int | None
    stdout: str
    stderr: str
    stdout_bytes: int
    stderr_bytes: int
    duration_s: float
    peak_memory_bytes: int | None
    reason: EndReason
    container: str
    changes: dict[str, Any] | None
    archive: bytes | None


class _Capture:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts = {"stdout": bytearray(), "stderr": bytearray()}
        self.totals = {"stdout": 0, "stderr": 0}

    def add(self, stream: str, data: bytes) -> None:
        self.totals[stream] += len(data)
        kept = self.parts[stream]
        room = self.cap - len(self.parts["stdout"]) - len(self.parts["stderr"])
        if room > 0:
            kept.extend(data[:room])

    @property
    def truncated(self) -> bool:
        return sum(self.totals.values()) > self.cap


def _memory_peak(stats: dict[str, Any]) -> int | None:
    mem = stats.get("memory_stats") or {}
    value = mem.get("max_usage") or mem.get("usage")
    return int(value) if value else None


def run_blocking(client: Any, spec: RunSpec, cancel: threading.Event) -> RunOutcome:
    """Run to completion in this (worker) thread. The container is removed whatever happens."""
    run_id = uuid.uuid4().hex[:12]
    copy_dir: Path | None = None
    volumes: dict[str, dict[str, str]] = {}
    if spec.workspace is not None:
        if spec.writable:
            copy_dir = Path(tempfile.mkdtemp(prefix="ck-sandbox-")) / "workspace"
            shutil.copytree(spec.workspace, copy_dir, symlinks=True)
            _give_to(copy_dir, spec.user)
            volumes[str(copy_dir)] = {"bind": "/workspace", "mode": "rw"}
        else:
            volumes[str(spec.workspace)] = {"bind": "/workspace", "mode": "ro"}
    deadline_at = time.time() + spec.limits.timeout_s + GRACE_S
    try:
        container = containers.create(
            client,
            spec.image,
            spec.command,
            user=spec.user,
            network_mode=spec.limits.network,
            environment=spec.env or None,
            working_dir="/workspace" if volumes else None,
            volumes=volumes or None,
            labels=containers.labels("run", deadline_at, **{f"{containers.LABEL}.run": run_id}),
            stdin_open=False,
            tty=False,
            **host_config_kwargs(spec.limits),
        )
    except BaseException:
        if copy_dir is not None:
            shutil.rmtree(copy_dir.parent, ignore_errors=True)
        raise
    watchdog = Watchdog(container.id, deadline_at, spec.docker_base_url)
    capture = _Capture(spec.limits.output_bytes)
    peak: list[int] = []
    started = time.monotonic()
    reason: EndReason = "exited"
    try:
        sock = container.attach(stdout=True, stderr=True, stream=True, demux=True, logs=True)
        containers.start(container, spec.image, spec.command)
        reader = threading.Thread(target=_read, args=(sock, capture), daemon=True)
        reader.start()
        watcher = threading.Thread(target=_watch_memory, args=(container, peak, cancel), daemon=True)
        watcher.start()
        deadline = started + spec.limits.timeout_s
        exit_code: int | None = None
        while True:
            if cancel.is_set():
                raise anyio.get_cancelled_exc_class()()
            try:
                result = container.wait(timeout=min(0.5, max(0.05, deadline - time.monotonic())))
                exit_code = int(result.get("StatusCode", -1))
                break
            except containers.WAIT_TIMEOUT:
                if time.monotonic() >= deadline:
                    reason = "timeout"
                    container.kill()
                    break
        reader.join(timeout=5)
        container.reload()
        state = container.attrs.get("State", {})
        if reason != "timeout" and state.get("OOMKilled"):
            reason = "oom_killed"
        elif reason == "exited" and capture.truncated:
            reason = "output_truncated"
        changes = archive = None
        if copy_dir is not None and spec.workspace is not None:
            changes, archive = diff_trees(spec.workspace, copy_dir, spec.max_changes_bytes)
        return RunOutcome(
            exit_code=None if reason == "timeout" else exit_code,
            stdout=capture.parts["stdout"].decode("utf-8", "replace"),
            stderr=capture.parts["stderr"].decode("utf-8", "replace"),
            stdout_bytes=capture.totals["stdout"],
            stderr_bytes=capture.totals["stderr"],
            duration_s=round(time.monotonic() - started, 3),
            peak_memory_bytes=max(peak) if peak else None,
            reason=reason,
            container=container.id[:12],
            changes=changes,
            archive=archive,
        )
    finally:
        cancel.set()
        remove_quietly(container)
        watchdog.stop()
        if copy_dir is not None:
            shutil.rmtree(copy_dir.parent, ignore_errors=True)


def _give_to(root: Path, user: str) -> None:
    """Make the copy writable for the sandbox user (it runs non-root)."""
    uid, _, gid = user.partition(":")
    if not (uid.isdigit() and (gid or uid).isdigit()):
        return
    for path in [root, *root.rglob("*")]:
        with contextlib.suppress(OSError):
            os.lchown(path, int(uid), int(gid or uid))


def _read(sock: Any, capture: _Capture) -> None:
    try:
        for out, err in sock:
            if out:
                capture.add("stdout", out)
            if err:
                capture.add("stderr", err)
    except containers.STREAM_ERRORS:
        return


def _watch_memory(container: Any, peak: list[int], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            value = _memory_peak(container.stats(stream=False))
        except containers.STREAM_ERRORS:
            return
        if value:
            peak.append(value)
        stop.wait(0.25)


def diff_trees(before: Path, after: Path, max_bytes: int) -> tuple[dict[str, Any], bytes]:
    """What a writable run changed: unified diffs of text files, added/removed/binary lists, and a tar.gz of changed
    files.

    At most ``max_bytes`` of changed files come back (sizes are read from the file system before any content): the rest
    is listed in ``dropped`` with its size, never read (two sparse 2 GB files used to become 4 GB in the archive).
    """

    def files(root: Path) -> dict[str, Path]:
        return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() and not p.is_symlink()}

    old, new = files(before), files(after)
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    modified: list[str] = []
    for rel in sorted(set(old) & set(new)):
        with contextlib.suppress(OSError):
            if not filecmp.cmp(old[rel], new[rel], shallow=False):
                modified.append(rel)
    kept: list[str] = []
    dropped: list[str] = []
    budget = max_bytes
    for rel in [*added, *modified]:
        size = _size(new[rel])
        if size > budget:
            dropped.append(f"{rel} ({size} bytes)")
            continue
        budget -= size
        kept.append(rel)
    binary: list[str] = []
    diffs: list[str] = []
    for rel in modified:
        if rel not in kept or _size(old[rel]) > DIFF_TEXT_MAX or _size(new[rel]) > DIFF_TEXT_MAX:
            continue
        a, b = old[rel].read_bytes(), new[rel].read_bytes()
        if b"\x00" in a[:4096] or b"\x00" in b[:4096]:
            binary.append(rel)
            continue
        diffs.extend(
            difflib.unified_diff(
                a.decode("utf-8", "replace").splitlines(True),
                b.decode("utf-8", "replace").splitlines(True),
                f"a/{rel}",
                f"b/{rel}",
            )
        )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for rel in kept:
            tar.add(new[rel], arcname=rel)
    return {
        "added": added,
        "removed": removed,
        "modified": modified,
        "binary": binary,
        "dropped": dropped,
        "diff": "".join(diffs)[:200_000],
    }, buffer.getvalue()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
