"""Generated Dockerfiles really work: build on the real engine, run, and get an answer on the detected port."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from containerkit.analysis import analyze
from containerkit.dockerfile.render import render
from tests.conftest import FIXTURE_REPOS

RUNNABLE = [
    "python-flask",
    "python-fastapi",
    "python-port-env",
    "python-health",
    "node-express",
    "static-site",
    "go-stdlib",
    "php-plain",
    "static-dist",
    "node-yarn",
    "python-uv",
    "go-lone",
]


def wait_http(url: str, deadline_s: float = 60) -> httpx.Response:
    deadline = time.monotonic() + deadline_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError as e:
            last = e
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered: {last}")


@pytest.mark.slow
@pytest.mark.parametrize("repo", RUNNABLE)
def test_generated_image_builds_runs_and_answers_on_the_detected_port(
    repo: str, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    context = tmp_path / repo
    shutil.copytree(FIXTURE_REPOS / repo, context)
    svc = analyze(context).services[0]
    rendered = render(svc)
    (context / "Dockerfile").write_text(rendered.dockerfile)
    (context / ".dockerignore").write_text(rendered.dockerignore)
    tag = f"ck-test-{repo}:{uuid.uuid4().hex[:8]}"
    docker_client.images.build(path=str(context), tag=tag, rm=True, forcerm=True)
    container = docker_client.containers.run(
        tag,
        detach=True,
        ports={f"{svc.port}/tcp": ("127.0.0.1", None)},
        read_only=True,
        tmpfs={p: f"rw,size=64m,mode=1777,uid={rendered.user_uid}" for p in svc.writable_paths()},
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
    )
    try:
        container.reload()
        host_port = container.ports[f"{svc.port}/tcp"][0]["HostPort"]
        response = wait_http(f"http://127.0.0.1:{host_port}{svc.health_path or '/'}")
        assert response.status_code == 200, response.text
        assert container.attrs["Config"]["User"].split(":")[0] == str(rendered.user_uid)
        # SIGTERM ends it: a server that ignores it as PID 1 waits out the 10 s and is killed (exit 137)
        started = time.monotonic()
        container.stop(timeout=10)
        stopped_after = time.monotonic() - started
        container.reload()
        assert stopped_after < 2.0 and container.attrs["State"]["ExitCode"] != 137, (
            stopped_after,
            container.attrs["State"],
        )
    finally:
        logs = container.logs(tail=30).decode(errors="replace")
        container.remove(force=True)
        # untag only: a build running in parallel may have reused these cached layers (its image is then a child of
        # ours)
        docker_client.images.remove(tag)
    assert "Traceback" not in logs
