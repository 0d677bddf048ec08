"""Every build error code provoked for real on the engine (no fakes): code, failing step, Dockerfile line, log tail."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from containerkit.errors import ContainerKitError
from tests.conftest import AUTH_REGISTRY, Harness
from tests.engine.helpers import BASE, Recorder, app_dir, containers_running, unique


def _fail(harness: Harness, path: Path, **params: Any) -> ContainerKitError:
    with pytest.raises(ContainerKitError) as info:
        harness.call("build_image", path=str(path), **params)
    return info.value


def _no_container_runs(docker_client: Any, marker: str, deadline_s: float = 30) -> bool:
    """Poll until no container (running or stopped) has ``marker`` in its command."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if not containers_running(docker_client, marker):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.usefixtures("docker_client")
def test_unknown_instruction_is_dockerfile_syntax_with_its_line(harness: Harness, tmp_path: Path) -> None:
    err = _fail(harness, app_dir(tmp_path, f"FROM {BASE}\nRUN true\nFOOBAR nope\n"))
    assert err.code == "DOCKERFILE_SYNTAX" and err.details["line"] == 3
    assert "FOOBAR" in err.message


@pytest.mark.usefixtures("docker_client", "local_registry")
def test_missing_base_image_is_base_image_not_found(harness: Harness, tmp_path: Path) -> None:
    err = _fail(harness, app_dir(tmp_path, f"FROM 127.0.0.1:5001/ck-missing/{unique()}:1\nRUN true\n"))
    assert err.code == "BASE_IMAGE_NOT_FOUND" and err.details["line"] == 1 and err.details["step_number"] == 1


@pytest.mark.usefixtures("docker_client")
def test_copy_of_a_missing_file_is_copy_source_missing(harness: Harness, tmp_path: Path) -> None:
    err = _fail(harness, app_dir(tmp_path, f"FROM {BASE}\n\n# copy the app\nCOPY app.py /app/\n"))
    assert err.code == "COPY_SOURCE_MISSING" and err.details["line"] == 4
    assert err.details["step"] == "COPY app.py /app/"


@pytest.mark.usefixtures("docker_client")
def test_copy_of_a_dockerignored_file_is_copy_source_missing(harness: Harness, tmp_path: Path) -> None:
    path = app_dir(tmp_path, f"FROM {BASE}\nCOPY app.py /app/\n", {"app.py": "print(1)\n"}, dockerignore="*.py\n")
    assert _fail(harness, path).code == "COPY_SOURCE_MISSING"


@pytest.mark.usefixtures("docker_client")
def test_failing_package_install_is_dependency_install_failed(harness: Harness, tmp_path: Path) -> None:
    err = _fail(harness, app_dir(tmp_path, f"FROM {BASE}\nRUN apt-get install -y ck-no-such-package-{unique()}\n"))
    assert err.code == "DEPENDENCY_INSTALL_FAILED" and err.details["line"] == 2
    assert "Unable to locate package" in str(err.details["log_tail"])
    # the one line that says why, not the engine's "returned a non-zero code"
    assert str(err.details["cause"]).startswith("Unable to locate package ck-no-such-package-")
    assert "Unable to locate package" in err.message and "non-zero code" not in err.message


@pytest.mark.usefixtures("docker_client")
def test_failing_command_is_command_failed_with_the_log_tail(harness: Harness, tmp_path: Path) -> None:
    err = _fail(harness, app_dir(tmp_path, f"FROM {BASE}\nRUN echo about-to-fail && \\\n    exit 3\n"))
    assert err.code == "COMMAND_FAILED" and err.details["line"] == 2
    assert "about-to-fail" in str(err.details["log_tail"])


@pytest.mark.usefixtures("docker_client", "auth_registry")
def test_base_image_on_the_auth_registry_without_credentials_is_registry_auth(harness: Harness, tmp_path: Path) -> None:
    err = _fail(harness, app_dir(tmp_path, f"FROM {AUTH_REGISTRY}/private/base:1\n"))
    assert err.code == "REGISTRY_AUTH" and not err.retryable


@pytest.mark.usefixtures("docker_client")
def test_base_image_on_an_unreachable_registry_is_network(harness: Harness, tmp_path: Path) -> None:
    err = _fail(harness, app_dir(tmp_path, "FROM 127.0.0.1:9/team/base:1\n"))
    assert err.code == "NETWORK" and err.retryable


@pytest.mark.usefixtures("docker_client")
def test_pip_install_from_an_unreachable_index_is_network(harness: Harness, tmp_path: Path) -> None:
    dockerfile = (
        "FROM python:3.12-slim\nRUN pip install --break-system-packages --index-url http://127.0.0.1:9/simple "
        "--retries 1 --timeout 2 flask\n"
    )
    err = _fail(harness, app_dir(tmp_path, dockerfile))
    assert err.code == "NETWORK" and err.details["line"] == 2


@pytest.mark.usefixtures("docker_client")
def test_writing_to_a_full_device_is_disk_full(harness: Harness, tmp_path: Path) -> None:
    # /dev/full fails every write with ENOSPC: the build step sees exactly what a full disk gives it.
    err = _fail(harness, app_dir(tmp_path, f"FROM {BASE}\nRUN dd if=/dev/zero of=/dev/full bs=1k count=1\n"))
    assert err.code == "DISK_FULL" and err.details["line"] == 2
    assert "No space left on device" in str(err.details["log_tail"])


def test_a_build_over_its_deadline_is_timeout_and_leaves_no_container(
    harness: Harness, tmp_path: Path, docker_client: Any
) -> None:
    marker = f"sleep 3{time.time_ns() % 1000}.5"
    started = time.monotonic()
    err = _fail(harness, app_dir(tmp_path, f"FROM {BASE}\nRUN {marker}\n"), timeout_s=4)
    assert err.code == "TIMEOUT" and err.details["line"] == 2
    assert time.monotonic() - started < 20
    assert _no_container_runs(docker_client, marker)


def test_cancelling_mid_build_stops_it_records_cancelled_and_cleans_up(
    harness: Harness, tmp_path: Path, docker_client: Any
) -> None:
    marker = f"sleep 4{time.time_ns() % 1000}.5"
    tag = f"{unique()}:1"
    path = app_dir(tmp_path, f"FROM {BASE}\nRUN {marker}\nRUN true\n")
    sid = harness.app.services.store.create_session().id
    rec = Recorder()

    async def main() -> None:
        async with anyio.create_task_group() as tg:

            async def build() -> None:
                await harness.app.registry.call(
                    harness.app.services,
                    "build_image",
                    {"path": str(path), "tags": [tag], "session_id": sid},
                    progress=rec,
                )

            tg.start_soon(build)
            with anyio.fail_after(60):
                while not any("RUN sleep" in m for m in rec.messages()):
                    await anyio.sleep(0.05)
            await anyio.sleep(1)  # the RUN container is up
            tg.cancel_scope.cancel()

    anyio.run(main)
    job = harness.app.services.store.list_jobs(sid)[0]
    assert job.status == "cancelled" and job.error_code == "CANCELLED"
    assert _no_container_runs(docker_client, marker)
    assert not docker_client.images.list(name=tag.split(":")[0])
    logs = [a for a in harness.app.services.store.list_artifacts(sid) if a.kind == "build_log"]
    assert logs, "the partial log is kept even when cancelled"


def test_a_dead_engine_socket_is_engine_unavailable(
    ck_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/dead.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("CONTAINERKIT_ENGINE__PODMAN_SOCKET", str(tmp_path / "no-podman.sock"))
    from containerkit.app import build_app
    from containerkit.settings import load_settings

    app = build_app(load_settings())
    h = Harness(app=app, home=ck_home)
    try:
        path = app_dir(tmp_path / "app", f"FROM {BASE}\n")
        for strategy in ("auto", "docker"):
            err = _fail(h, path, strategy=strategy)
            assert err.code == "ENGINE_UNAVAILABLE", strategy
            assert "dead.sock" in err.message
    finally:
        app.services.store.close()
