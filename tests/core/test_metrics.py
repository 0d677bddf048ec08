"""Prometheus metrics (issue 18): what a tool call, a failure and the store record, with bounded labels."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from containerkit import metrics
from containerkit.errors import ContainerKitError
from tests.conftest import FIXTURE_REPOS, ROOT, Harness, free_port


@pytest.fixture
def recording() -> Iterator[CollectorRegistry]:
    registry = metrics.enable(CollectorRegistry())
    try:
        yield registry
    finally:
        metrics.disable()


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    got = registry.get_sample_value(name, labels)
    return 0.0 if got is None else got


def test_metrics_are_off_and_free_until_enabled(harness: Harness) -> None:
    assert not metrics.enabled()
    metrics.tool_call("x", "ok", 0.1)  # a no-op, not an error
    harness.call("analyze_repository", path=str(FIXTURE_REPOS / "python-flask"))


def test_a_tool_call_and_a_failure_are_counted_by_tool_and_outcome(
    harness: Harness, recording: CollectorRegistry
) -> None:
    session = harness.app.services.store.create_session()
    harness.call("analyze_repository", path=str(FIXTURE_REPOS / "python-flask"), session_id=session.id)
    with pytest.raises(ContainerKitError):
        harness.call("get_job_status", job_id="no-such-job")
    with pytest.raises(ContainerKitError):
        harness.call("no_such_tool_" + "x" * 40)
    assert value(recording, "containerkit_tool_calls_total", tool="analyze_repository", outcome="ok") == 1
    assert value(recording, "containerkit_tool_calls_total", tool="get_job_status", outcome="NOT_FOUND") == 1
    # a name a client made up is one label value, whatever it sends
    assert value(recording, "containerkit_tool_calls_total", tool="unknown", outcome="NOT_FOUND") == 1
    assert value(recording, "containerkit_tool_call_duration_seconds_count", tool="analyze_repository") == 1
    assert value(recording, "containerkit_store_operation_duration_seconds_count", operation="defer_job") >= 1


def test_labels_carry_no_session_ids_image_names_or_paths(harness: Harness, recording: CollectorRegistry) -> None:
    session = harness.app.services.store.create_session()
    result = harness.call("analyze_repository", path=str(FIXTURE_REPOS / "python-flask"), session_id=session.id)
    assert result.session_id == session.id
    for family in recording.collect():
        for sample in family.samples:
            for label in sample.labels.values():
                assert result.session_id not in label and "/" not in label, (sample.name, sample.labels)


def test_serve_metrics_port_serves_the_prometheus_text_format(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CONTAINERKIT_HOME": str(tmp_path),
        "CONTAINERKIT_CONFIG": str(tmp_path / "none.yaml"),
        "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(tmp_path)]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "containerkit", "serve", "--metrics-port", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert "# TYPE containerkit_tool_calls_total counter" in response.text
        assert "containerkit_sessions_active 0.0" in response.text
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_metrics_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    from tests.core.test_cli import ck

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = ck(["serve", "--metrics-port", str(port)], tmp_path, {})
    assert out.returncode == 2, out.stderr
    assert f"cannot serve metrics on 127.0.0.1:{port}" in out.stderr and "Traceback" not in out.stderr
