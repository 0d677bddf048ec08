"""Each sandbox limit holds for real on the engine, the container is always removed, and the policy caps requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from containerkit.errors import PolicyViolationError
from tests.conftest import Harness, containers_now

PY = "python:3.12-slim"


def run(harness: Harness, command: list[str], **kw: Any) -> Any:
    return harness.call("run_sandboxed", command=command, image=kw.pop("image", PY), **kw)


def leftovers(docker_client: Any) -> list[Any]:
    return containers_now(docker_client, {"label": "containerkit.sandbox=run", "ancestor": PY})


@pytest.fixture(autouse=True)
def _nothing_left_behind(docker_client: Any) -> Any:
    yield
    assert leftovers(docker_client) == []


def test_command_runs_and_reports_exit_code_and_output(harness: Harness, docker_client: Any) -> None:
    result = run(harness, ["python3", "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"])
    assert (result.exit_code, result.reason, result.stdout, result.stderr) == (3, "exited", "out\n", "err\n")


def test_network_calls_fail_without_network(harness: Harness, docker_client: Any) -> None:
    result = run(harness, ["python3", "-c", "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)"])
    assert result.exit_code != 0 and ("unreachable" in result.stderr.lower() or "Errno" in result.stderr)


def test_root_filesystem_is_read_only_and_tmp_is_writable(harness: Harness, docker_client: Any) -> None:
    result = run(harness, ["sh", "-c", "touch /tmp/ok && touch /etc/nope"])
    assert result.exit_code != 0 and "Read-only file system" in result.stderr


def test_runs_as_non_root_without_capabilities(harness: Harness, docker_client: Any) -> None:
    result = run(harness, ["sh", "-c", "id -u; grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status"])
    lines = result.stdout.split()
    assert lines[0] == "65534" and "0000000000000000" in result.stdout and result.stdout.rstrip().endswith("1")


def test_fork_bomb_is_stopped_by_the_pid_limit(harness: Harness, docker_client: Any) -> None:
    bomb = (
        "import os, sys, time\nn = 0\ntry:\n    while n < 2000:\n        if os.fork() == 0:\n            "
        "time.sleep(20); os._exit(0)\n"
        "        n += 1\nexcept OSError as e:\n    print('stopped after', n); sys.exit(7)\nprint('never stopped', n)"
    )
    result = run(harness, ["python3", "-c", bomb], pids=32, timeout_s=60)
    assert result.exit_code == 7 and "stopped after" in result.stdout
    assert int(result.stdout.split()[-1]) < 32


def test_memory_hog_is_oom_killed_and_reported(harness: Harness, docker_client: Any) -> None:
    result = run(harness, ["python3", "-c", "x = bytearray(400 * 1024 * 1024); print(len(x))"], memory_mb=64)
    assert result.reason == "oom_killed" and result.exit_code == 137


def test_endless_loop_ends_at_the_timeout(harness: Harness, docker_client: Any) -> None:
    result = run(harness, ["python3", "-c", "while True: pass"], timeout_s=2)
    assert result.reason == "timeout" and result.exit_code is None and 2 <= result.duration_s < 20
    assert result.peak_memory_bytes is None or result.peak_memory_bytes > 0


def test_output_flood_is_truncated_and_counted(harness: Harness, docker_client: Any) -> None:
    result = run(harness, ["python3", "-c", "import sys; sys.stdout.write('x' * 3_000_000)"], max_output_bytes=10_000)
    assert result.reason == "output_truncated" and len(result.stdout) == 10_000 and result.stdout_bytes == 3_000_000


def test_read_only_workspace_cannot_be_modified(harness: Harness, docker_client: Any, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("original\n")
    tmp_path.chmod(0o755)
    result = run(harness, ["sh", "-c", "cat notes.txt && echo changed > notes.txt"], workspace=str(tmp_path))
    assert result.stdout == "original\n" and result.exit_code != 0 and "Read-only" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "original\n"


def test_writable_copy_returns_the_changes_and_leaves_the_original(
    harness: Harness, docker_client: Any, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("line one\n")
    (tmp_path / "gone.txt").write_text("bye\n")
    result = run(
        harness,
        ["sh", "-c", "echo line two >> notes.txt && rm gone.txt && echo new > added.txt"],
        workspace=str(tmp_path),
        writable=True,
    )
    assert result.exit_code == 0
    assert (result.changes.added, result.changes.removed, result.changes.modified) == (
        ["added.txt"],
        ["gone.txt"],
        ["notes.txt"],
    )
    assert "+line two" in result.changes.diff
    assert (tmp_path / "notes.txt").read_text() == "line one\n" and (tmp_path / "gone.txt").exists()
    info, archive = harness.app.services.store.get_artifact(result.changes.archive_artifact_id)
    assert info.media_type == "application/gzip" and len(archive) > 0


def test_cancellation_removes_the_container(harness: Harness, docker_client: Any) -> None:
    async def main() -> None:
        with anyio.move_on_after(2):
            await harness.acall("run_sandboxed", command=["sleep", "60"], image=PY)

    anyio.run(main)
    import time

    end = time.monotonic() + 15
    while leftovers(docker_client) and time.monotonic() < end:
        time.sleep(0.2)
    assert leftovers(docker_client) == []


@pytest.mark.parametrize(
    ("override", "request_kw", "message"),
    [
        ({"CONTAINERKIT_SANDBOX__MAX_MEMORY_MB": "128"}, {"memory_mb": 512}, "memory 512 MiB exceeds the maximum 128"),
        ({"CONTAINERKIT_SANDBOX__MAX_PIDS": "64"}, {"pids": 256}, "pids 256 exceeds the maximum 64"),
        ({"CONTAINERKIT_SANDBOX__MAX_TIMEOUT_S": "10"}, {"timeout_s": 60}, "timeout 60s exceeds the maximum 10s"),
        ({}, {"network": "bridge"}, "network access is not allowed"),
        ({"CONTAINERKIT_SANDBOX__ALLOWED_IMAGES": '["debian:*"]'}, {}, "is not allowed by the sandbox policy"),
    ],
)
def test_policy_caps_every_request(
    override: dict[str, str], request_kw: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch, ck_home: Path
) -> None:
    for key, value in override.items():
        monkeypatch.setenv(key, value)
    from containerkit.app import build_app

    app = build_app()
    with pytest.raises(PolicyViolationError, match=message) as info:
        anyio.run(
            lambda: app.registry.call(app.services, "run_sandboxed", {"command": ["true"], "image": PY, **request_kw})
        )
    assert info.value.code == "POLICY_VIOLATION"
