"""A pool of two real engines (the default dockerd and the second one scripts/testenv runs): builds go to the least
busy engine, what follows a build goes to the engine that has the image, and an engine stopped in the middle of a
build is taken out while the build runs again on the other."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

from containerkit.app import build_app
from containerkit.settings import load_settings
from tests.conftest import TESTENV_STATE, unavailable

ENGINE2_PID = Path("/var/run/containerkit-docker2.pid")
ENGINE2_CONFIG = Path("/etc/containerkit-testenv/docker2.json")


@pytest.fixture
def engine2(request: pytest.FixtureRequest) -> str:
    path = TESTENV_STATE / "engine2"
    url = path.read_text().strip() if path.exists() else ""
    ok = bool(url) and subprocess.run(["docker", "-H", url, "info"], capture_output=True, timeout=30).returncode == 0
    if not ok:
        unavailable(request, "the second engine (scripts/testenv)")
    return url


def _docker(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "-H", url, *args], capture_output=True, text=True, timeout=120)


def _context(tmp_path: Path, name: str, seconds: int) -> Path:
    ctx = tmp_path / name
    ctx.mkdir()
    marker = uuid.uuid4().hex  # never in the build cache: the build takes its seconds
    (ctx / "Dockerfile").write_text(f"FROM debian:bookworm-slim\nRUN echo {marker} && sleep {seconds}\nUSER 1000\n")
    return ctx


def _app(ck_home: Path, pool: list[str]) -> Any:
    os.environ["CONTAINERKIT_ENGINE__POOL"] = json.dumps(pool)
    try:
        return build_app(load_settings())
    finally:
        del os.environ["CONTAINERKIT_ENGINE__POOL"]


@pytest.mark.docker
def test_two_builds_at_once_go_to_two_engines_and_the_tag_follows_the_image(
    ck_home: Path, tmp_path: Path, engine2: str
) -> None:
    app = _app(ck_home, ["unix:///var/run/docker.sock", engine2])
    tags = [f"ck-pool-{i}:{uuid.uuid4().hex[:8]}" for i in range(2)]

    async def main() -> list[Any]:
        results: list[Any] = [None, None]

        async def build(i: int) -> None:
            ctx = _context(tmp_path, f"app{i}", 3)
            results[i] = await app.registry.call(app.services, "build_image", {"path": str(ctx), "tags": [tags[i]]})

        async with anyio.create_task_group() as tg:
            for i in range(2):
                tg.start_soon(build, i)
        # a tag of the image built on the second engine is made there, not on the first
        await app.registry.call(app.services, "tag_image", {"source": tags[1], "target": tags[1] + "-again"})
        return results

    try:
        results = anyio.run(main)
        where = {
            tag: [
                url
                for url in ("unix:///var/run/docker.sock", engine2)
                if _docker(url, "image", "inspect", tag).returncode == 0
            ]
            for tag in tags
        }
        assert sorted(len(v) for v in where.values()) == [1, 1] and where[tags[0]] != where[tags[1]], where
        assert all(r.image_id for r in results)
        again = [
            url
            for url in ("unix:///var/run/docker.sock", engine2)
            if _docker(url, "image", "inspect", tags[1] + "-again").returncode == 0
        ]
        assert again == where[tags[1]]
    finally:
        for url in ("unix:///var/run/docker.sock", engine2):
            _docker(url, "rmi", "-f", *tags, tags[1] + "-again")


def _restart_engine2(url: str) -> None:
    env = {**os.environ, "SSL_CERT_DIR": f"{TESTENV_STATE}/hub/certs:/etc/ssl/certs"}
    log = open("/var/log/containerkit-testenv/dockerd2.log", "ab")  # noqa: SIM115 - the daemon keeps it
    subprocess.Popen(
        ["dockerd", "--config-file", str(ENGINE2_CONFIG)],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if _docker(url, "info").returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError("the second engine did not come back")


@pytest.mark.docker
def test_an_engine_stopped_mid_build_is_taken_out_and_the_build_runs_on_the_other(
    ck_home: Path, tmp_path: Path, engine2: str
) -> None:
    app = _app(ck_home, [engine2, "unix:///var/run/docker.sock"])  # the second engine first: the build starts there
    tag = f"ck-pool-failover:{uuid.uuid4().hex[:8]}"
    ctx = _context(tmp_path, "app", 8)
    messages: list[str] = []

    async def main() -> Any:
        async def stop_engine2_when_building() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if any("RUN echo" in m for m in messages):
                    await anyio.sleep(1.5)
                    os.kill(int(ENGINE2_PID.read_text()), signal.SIGTERM)
                    return
                await anyio.sleep(0.1)

        class Collect:
            async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None:
                if message:
                    messages.append(message)

        async with anyio.create_task_group() as tg:
            tg.start_soon(stop_engine2_when_building)
            result = await app.registry.call(
                app.services, "build_image", {"path": str(ctx), "tags": [tag]}, progress=Collect()
            )
        return result

    try:
        result = anyio.run(main)
        assert any("building on the next one" in m for m in messages), messages[-10:]
        assert _docker("unix:///var/run/docker.sock", "image", "inspect", tag).returncode == 0
        assert result.image_id.startswith("sha256:")
        # the next build skips the stopped engine at once (taken out), without waiting for it
        t0 = time.monotonic()
        anyio.run(
            lambda: app.registry.call(
                app.services, "build_image", {"path": str(_context(tmp_path, "next", 0)), "tags": [tag + "-next"]}
            )
        )
        assert time.monotonic() - t0 < 30
    finally:
        if _docker(engine2, "info").returncode != 0:
            _restart_engine2(engine2)
        _docker("unix:///var/run/docker.sock", "rmi", "-f", tag, tag + "-next")
