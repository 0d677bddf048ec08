"""The probe's reproductions through the CLI: an output flood cannot fill the disk, a writable run cannot return
gigabytes,
a killed CLI leaves no container past its deadline, and bad commands, env names and images are typed input errors."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from containerkit.engine.containers import DEADLINE_LABEL, GRACE_S, LABEL, reap_expired
from containerkit.errors import ContainerKitError
from tests.conftest import ROOT, Harness, containers_now
from tests.core.test_cli import ck

OTHER = "debian:bookworm-slim"  # test_sandbox.py checks for leftovers of its own image (python:3.12-slim) only


def _sandbox_containers(docker_client: Any, marker: str) -> list[Any]:
    """Our sandbox containers whose command holds ``marker`` (tests run in parallel: look only at this test's)."""
    found = containers_now(docker_client, {"label": f"{LABEL}=run"})
    return [
        c for c in found if marker in " ".join(c.attrs.get("Args") or []) + " ".join(c.attrs["Config"].get("Cmd") or [])
    ]


def _wait_for(predicate: Any, timeout: float) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


@pytest.mark.docker
def test_an_output_flood_keeps_the_engine_log_file_bounded(docker_client: Any, tmp_path: Path) -> None:
    """``yes HELLO`` wrote 778 MB of engine log in 25 s; the output we return was capped but the log file was not."""
    marker = "flood-marker-1"
    # a deadline well past the measurement: on a loaded machine the container appeared 15 s late and was gone at reload
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "containerkit",
            "sandbox",
            "run",
            "--image",
            OTHER,
            "--timeout",
            "45",
            "--",
            "sh",
            "-c",
            f"yes HELLO # {marker}",
        ],
        env={**os.environ, "CONTAINERKIT_HOME": str(tmp_path)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        running = _wait_for(lambda: _sandbox_containers(docker_client, marker), 30)
        assert running, "the sandbox container never appeared"
        container = running[0]
        config = container.attrs["HostConfig"]["LogConfig"]
        assert config["Type"] == "json-file" and config["Config"]["max-size"] == "1m", config
        time.sleep(4)  # let it flood: unbounded, the log grew by about 30 MB per second here
        container.reload()
        log_path = Path(container.attrs["LogPath"])
        sizes = [p.stat().st_size for p in log_path.parent.glob(log_path.name + "*") if p.exists()]
        assert sum(sizes) <= 3 * 1024 * 1024, f"engine log grew to {sum(sizes)} bytes"
    finally:
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 124 or b"timeout" in err, err


@pytest.mark.docker
def test_a_writable_run_returns_at_most_the_configured_bytes(tmp_path: Path) -> None:
    """Two sparse 2 GB files came back as 4 GB; now the changes are capped and what was dropped is listed."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("one\n")
    out = ck(
        [
            "sandbox",
            "run",
            "--image",
            OTHER,
            "--workspace",
            str(work),
            "--writable",
            "--json",
            "--",
            "sh",
            "-c",
            "truncate -s 2G big1.bin && truncate -s 2G big2.bin && echo two >> keep.txt && echo x > small.txt",
        ],
        tmp_path,
        env={
            "CONTAINERKIT_SANDBOX__MAX_CHANGES_BYTES": str(1024 * 1024),
            "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)]),
        },
    )
    assert out.returncode == 0, out.stderr
    changes = json.loads(out.stdout)["changes"]
    assert sorted(changes["added"]) == ["big1.bin", "big2.bin", "small.txt"] and changes["modified"] == ["keep.txt"]
    assert sorted(changes["dropped"]) == ["big1.bin (2147483648 bytes)", "big2.bin (2147483648 bytes)"]
    assert "+two" in changes["diff"]


@pytest.mark.docker
def test_a_killed_cli_leaves_no_container_past_its_deadline(docker_client: Any, tmp_path: Path) -> None:
    """``--timeout 30 -- sleep 300`` was still up after the CLI was killed; the watchdog removes it at its deadline."""
    marker = "kill9-marker-2"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "containerkit",
            "sandbox",
            "run",
            "--image",
            OTHER,
            "--timeout",
            "3",
            "--",
            "sh",
            "-c",
            f"sleep 300 # {marker}",
        ],
        env={**os.environ, "CONTAINERKIT_HOME": str(tmp_path)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    running = _wait_for(lambda: _sandbox_containers(docker_client, marker), 30)
    assert running, "the sandbox container never appeared"
    deadline = float(running[0].labels[DEADLINE_LABEL])
    assert deadline - time.time() < 3 + 20
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _sandbox_containers(docker_client, marker), "the container should outlive the killed CLI until its deadline"
    # the watchdog removes it GRACE_S after the deadline; 30 s more for a loaded machine
    gone = _wait_for(lambda: not _sandbox_containers(docker_client, marker), deadline - time.time() + GRACE_S + 30)
    assert gone, "the container outlived its deadline"
    # the next start of the CLI finds the killed call's job and says what happened to it (it stayed "running")
    env = {**os.environ, "CONTAINERKIT_HOME": str(tmp_path)}
    listed = subprocess.run(
        [sys.executable, "-m", "containerkit", "sessions", "list", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    session_id = json.loads(listed.stdout)["sessions"][0]["id"]
    shown = subprocess.run(
        [sys.executable, "-m", "containerkit", "sessions", "show", session_id, "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    (job,) = [j for j in json.loads(shown.stdout)["jobs"] if j["tool"] == "run_sandboxed"]
    assert job["tool"] == "run_sandboxed" and job["status"] == "failed" and job["error_code"] == "INTERRUPTED", job
    assert f"pid {proc.pid}" in job["error_message"]


@pytest.mark.docker
def test_the_reaper_removes_only_our_expired_containers(docker_client: Any) -> None:
    expired = docker_client.containers.create(
        OTHER, ["sleep", "300"], labels={LABEL: "run", DEADLINE_LABEL: str(int(time.time()) - 5)}
    )
    current = docker_client.containers.create(
        OTHER, ["sleep", "300"], labels={LABEL: "run", DEADLINE_LABEL: str(int(time.time()) + 600)}
    )
    foreign = docker_client.containers.create(OTHER, ["sleep", "300"], labels={DEADLINE_LABEL: "1"})
    try:
        removed = reap_expired(docker_client)
        assert expired.id[:12] in removed
        assert current.id[:12] not in removed and foreign.id[:12] not in removed
        left = {c.id for c in docker_client.containers.list(all=True, sparse=True)}
        assert expired.id not in left and current.id in left and foreign.id in left
    finally:
        for c in (expired, current, foreign):
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)


@pytest.mark.docker
def test_a_missing_program_is_an_input_error_not_a_bug(tmp_path: Path) -> None:
    out = ck(["sandbox", "run", "--image", OTHER, "--", "/nonexistent-binary"], tmp_path)
    assert out.returncode == 2, out.stderr
    assert "INVALID_INPUT" in out.stderr and "/nonexistent-binary" in out.stderr
    assert "Traceback" not in out.stderr and "INTERNAL" not in out.stderr


@pytest.mark.docker
def test_environment_names_are_checked_and_values_kept_verbatim(harness: Harness, tmp_path: Path) -> None:
    """An empty name reached the engine (ENGINE_UNAVAILABLE); ``-e A=01`` was read as YAML and became ``1``."""
    with pytest.raises(ContainerKitError) as info:
        harness.call("run_sandboxed", command=["true"], image=OTHER, env={"": "value"})
    assert info.value.code == "INVALID_INPUT" and "env" in info.value.message
    out = ck(
        ["sandbox", "run", "--image", OTHER, "-e", "A=01", "-e", "B=yes", "--", "sh", "-c", "echo $A $B"], tmp_path
    )
    assert out.returncode == 0 and out.stdout.splitlines()[0] == "01 yes", out.stdout + out.stderr


@pytest.mark.docker
def test_smoke_of_a_missing_image_is_image_not_found(tmp_path: Path) -> None:
    out = ck(["smoke", "ck-no-such-image:404", "--port", "8000"], tmp_path)
    assert "IMAGE_NOT_FOUND" in out.stderr and "ENGINE_UNAVAILABLE" not in out.stderr, out.stderr
