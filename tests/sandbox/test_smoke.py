"""Smoke runs of real images: a web app passes, a wrong port and a crash fail with what happened, a worker passes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from containerkit.errors import ContainerKitError
from tests.conftest import Harness, build_context, containers_now, unavailable

SERVER = """
import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == '/health' else 404); self.end_headers(); self.wfile.write(b'ok')
mode = os.environ.get('MODE', 'serve')
if os.environ.get('PID_DIR'):  # as Apache writes /var/run/apache2/apache2.pid
    open(os.path.join(os.environ['PID_DIR'], 'app.pid'), 'w').write(str(os.getpid()))
if mode == 'crash':
    print('missing DATABASE_URL', file=sys.stderr); sys.exit(4)
if mode == 'worker':
    import time
    while True: time.sleep(1)
HTTPServer((os.environ.get('HOST', '0.0.0.0'), int(os.environ.get('PORT', '8000'))), H).serve_forever()
"""


def _build(docker_client: Any, tag: str) -> None:
    # /var/run/app exists in the image: the engine makes a tmpfs over it root's unless told the owner
    files = {
        "Dockerfile": "FROM python:3.12-slim\nCOPY server.py /server.py\nRUN mkdir /var/run/app\nUSER 10001\n"
        'LABEL org.containerkit.writable="/tmp /var/run/app"\nCMD ["python3", "-u", "/server.py"]\n',
        "server.py": SERVER,
    }
    docker_client.images.build(fileobj=build_context(files), custom_context=True, tag=tag, rm=True)


@pytest.fixture(scope="module")
def server_image(request: pytest.FixtureRequest, _docker_session: Any) -> Iterator[str]:
    if _docker_session is None:
        unavailable(request, "the Docker engine")
    docker_client = _docker_session
    tag = "ck-smoke-fixture:1"
    _build(docker_client, tag)
    yield tag
    docker_client.images.remove(tag, force=True)


@pytest.mark.docker
def test_web_app_passes(harness: Harness, server_image: str, docker_client: Any) -> None:
    result = harness.call("smoke_test_image", image=server_image, port=8000, path="/health", timeout_s=60)
    assert result.passed and result.status_code == 200 and 8000 in result.listening_ports
    # other test files run smoke tests in parallel: look only at containers of this module's image
    assert containers_now(docker_client, {"label": "containerkit.sandbox=smoke", "ancestor": server_image}) == []


@pytest.mark.docker
def test_wrong_port_fails_with_the_port_it_actually_uses(harness: Harness, server_image: str) -> None:
    with pytest.raises(ContainerKitError) as info:
        harness.call("smoke_test_image", image=server_image, port=9999, env={"PORT": "8123"}, timeout_s=60)
    assert info.value.code == "SMOKE_WRONG_PORT" and info.value.details["listening_ports"] == [8123]
    assert "8123" in info.value.hint


def test_crash_fails_with_exit_code_and_logs(harness: Harness, server_image: str) -> None:
    with pytest.raises(ContainerKitError) as info:
        harness.call("smoke_test_image", image=server_image, port=8000, env={"MODE": "crash"}, timeout_s=60)
    assert info.value.code == "SMOKE_EXITED" and info.value.details["exit_code"] == 4
    assert "missing DATABASE_URL" in str(info.value.details["log_tail"])
    # the one line that says why ends the message
    assert info.value.details["cause"] == "missing DATABASE_URL" and info.value.message.endswith(
        ": missing DATABASE_URL"
    )


def test_paths_the_image_labels_writable_are_writable_under_the_read_only_root(
    harness: Harness, server_image: str
) -> None:
    # php:*-apache writes /var/run/apache2; generated images list such paths in org.containerkit.writable
    result = harness.call(
        "smoke_test_image", image=server_image, port=8000, path="/health", env={"PID_DIR": "/var/run/app"}, timeout_s=60
    )
    assert result.passed


def test_app_bound_to_the_loopback_address_only_is_told_to_bind_all_interfaces(
    harness: Harness, server_image: str
) -> None:
    # rust-mini-redis binds 127.0.0.1:6379: it listens on the expected port, and nothing outside can reach it
    with pytest.raises(ContainerKitError) as info:
        harness.call("smoke_test_image", image=server_image, port=8000, env={"HOST": "127.0.0.1"}, timeout_s=60)
    assert info.value.code == "SMOKE_LOOPBACK_ONLY" and info.value.details["listening_ports"] == [8000]
    assert "127.0.0.1" in info.value.message and "0.0.0.0" in info.value.hint


def test_worker_without_port_passes_when_it_stays_up(harness: Harness, server_image: str) -> None:
    result = harness.call("smoke_test_image", image=server_image, env={"MODE": "worker"}, grace_s=2)
    assert result.passed and result.protocol == "none" and result.duration_s >= 2


def test_tcp_protocol_accepts_a_connection(harness: Harness, server_image: str) -> None:
    result = harness.call("smoke_test_image", image=server_image, port=8000, protocol="tcp", timeout_s=60)
    assert result.passed and result.protocol == "tcp"


def test_failure_is_recorded_in_the_session(harness: Harness, server_image: str) -> None:
    with pytest.raises(ContainerKitError) as info:
        harness.call("smoke_test_image", image=server_image, port=8000, env={"MODE": "crash"}, timeout_s=60)
    errors = harness.app.services.store.list_errors(str(info.value.details["session_id"]))
    assert errors[0].code == "SMOKE_EXITED"
