"""The `containerkit build` command: JSON output, error exit, and Ctrl-C stopping the build on the engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from containerkit.cli import runner
from containerkit.cli.main import app as cli
from tests.conftest import ROOT, Harness
from tests.engine.helpers import BASE, app_dir, containers_running, remove_images, unique


def test_build_json_prints_the_result_and_failures_exit_1(harness: Harness, tmp_path: Path, docker_client: Any) -> None:
    tag = f"{unique()}:1"
    ok = app_dir(tmp_path / "ok", f"FROM {BASE}\nRUN echo {unique()} > /x\n")
    bad = app_dir(tmp_path / "bad", f"FROM {BASE}\nRUN exit 7\n")
    runner.set_app(harness.app)
    try:
        res = CliRunner().invoke(cli, ["build", str(ok), "--tag", tag, "--build-arg", "A=1", "--json"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)
        assert data["tags"] == [tag] and data["image_id"].startswith("sha256:") and data["cache"]["steps"] >= 2
        res = CliRunner().invoke(cli, ["build", str(bad)])
        assert res.exit_code == 1 and "[COMMAND_FAILED]" in res.output and "Dockerfile:2" in res.output
        res = CliRunner().invoke(cli, ["build", str(ok), "--build-arg", "novalue"])
        assert res.exit_code == 2 and "KEY=VALUE" in res.output
    finally:
        runner.set_app(None)
        remove_images(docker_client, tag)


# As at a terminal: Ctrl-C raises KeyboardInterrupt even when the test runner was started with SIGINT ignored (a shell
# does
# that to background jobs, and CI may run us so) - the child restores Python's handler before the CLI starts.
_AS_AT_A_TERMINAL = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv = ['containerkit', *sys.argv[1:]]; runpy.run_module('containerkit', run_name='__main__')"
)


@pytest.mark.parametrize(("sig", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_stop_the_build_and_remove_its_container(
    sig: signal.Signals, exit_code: int, ck_home: Path, tmp_path: Path, docker_client: Any
) -> None:
    marker = f"sleep 5{time.time_ns() % 100000}.5"
    path = app_dir(tmp_path / "app", f"FROM {BASE}\nRUN {marker}\n")
    env = {**os.environ, "CONTAINERKIT_HOME": str(ck_home), "CONTAINERKIT_ALLOWED_ROOTS": f'["{tmp_path}"]'}
    proc = subprocess.Popen(
        [sys.executable, "-c", _AS_AT_A_TERMINAL, "build", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def running() -> list[Any]:
        return containers_running(docker_client, marker)

    deadline = time.monotonic() + 60
    while not running():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == exit_code, err
    assert "[CANCELLED]" in err
    deadline = time.monotonic() + 30
    while running():
        assert time.monotonic() < deadline, "the build's container is still there after the signal"
        time.sleep(0.2)
