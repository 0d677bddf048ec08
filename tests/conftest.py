"""Shared fixtures.

Markers are added from fixture use: a test using ``docker_client`` is marked
``docker``, one using ``local_registry``/``auth_registry`` is marked ``registry``.
When the engine or a registry is missing the test SKIPS locally but FAILS in CI
(``CI=true``) or with ``--require-engine``: nothing that needs Docker may
silently skip there.
"""

from __future__ import annotations

import atexit
import datetime as dt
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import hypothesis
import pytest

from containerkit.app import App, build_app
from containerkit.settings import load_settings
from containerkit.tools import ToolResult

# what Container Kit caches (the tool index, OSV indexes of test databases) goes to this run's own directory, not the
# user's ~/.cache: set before any CLI subprocess starts, which inherits it
if "CONTAINERKIT_CACHE_DIR" not in os.environ:
    os.environ["CONTAINERKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="containerkit-test-cache-")
    atexit.register(shutil.rmtree, os.environ["CONTAINERKIT_CACHE_DIR"], True)

# hypothesis' default deadline (200 ms per example) is a timing test on a shared 2-core machine: every property test
# gets one that holds under load (a test that touches files or the engine sets deadline=None itself)
hypothesis.settings.register_profile("containerkit", deadline=dt.timedelta(seconds=5), print_blob=True)
hypothesis.settings.load_profile("containerkit")

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_REPOS = ROOT / "tests" / "fixtures" / "repos"
TESTENV_STATE = Path("/var/lib/containerkit-testenv")
OPEN_REGISTRY = "127.0.0.1:5001"
AUTH_REGISTRY = "127.0.0.1:5002"

_FIXTURE_MARKERS = {
    "docker_client": "docker",
    "local_registry": "registry",
    "auth_registry": "registry",
    "fake_k8s": "k8s_api",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-engine", action="store_true", help="Fail (not skip) tests whose engine/registry is missing."
    )
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="Write the golden files of the generation tests from the current output (review the diff!); "
        "without it a missing or different golden fails.",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    """Only on request (--update-goldens): a golden file never writes itself."""
    return bool(request.config.getoption("--update-goldens"))


def pytest_configure(config: pytest.Config) -> None:
    for name, text in {
        "docker": "needs a container engine",
        "registry": "needs the local registries from scripts/testenv",
        "k8s_api": "runs against the fake Kubernetes API server",
        "e2e": "end-to-end (real engine / real cluster)",
        "slow": "takes more than a few seconds",
    }.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in _FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(getattr(pytest.mark, marker))


def _must_have(config: pytest.Config) -> bool:
    return bool(config.getoption("--require-engine")) or os.environ.get("CI", "").lower() == "true"


def unavailable(request: pytest.FixtureRequest, what: str) -> None:
    """Skip locally, fail in CI."""
    if _must_have(request.config):
        pytest.fail(f"{what} is not available, and CI requires it (run scripts/testenv)", pytrace=False)
    pytest.skip(f"{what} is not available (run scripts/testenv)")


# --- app / tool calls -----------------------------------------------------------------


@dataclass
class Harness:
    app: App
    home: Path

    def call(self, tool: str, **params: Any) -> Any:
        return anyio.run(lambda: self.app.registry.call(self.app.services, tool, params))

    async def acall(self, tool: str, **params: Any) -> ToolResult:
        return await self.app.registry.call(self.app.services, tool, params)


@pytest.fixture
def ck_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ckhome"
    monkeypatch.setenv("CONTAINERKIT_HOME", str(home))
    monkeypatch.setenv("CONTAINERKIT_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("CONTAINERKIT_ALLOWED_ROOTS", f'["{tmp_path}", "{ROOT}"]')
    return home


@pytest.fixture
def harness(ck_home: Path) -> Iterator[Harness]:
    app = build_app(load_settings())
    yield Harness(app=app, home=ck_home)
    app.services.store.close()


# --- external systems -------------------------------------------------------------------


@pytest.fixture(scope="session")
def _docker_session() -> Any:
    try:
        import docker

        client = docker.from_env(timeout=30)
        client.ping()
        return client
    except Exception:
        return None


@pytest.fixture
def docker_client(request: pytest.FixtureRequest, _docker_session: Any) -> Any:
    if _docker_session is None:
        unavailable(request, "the Docker engine")
    return _docker_session


def _registry_up(address: str) -> bool:
    try:
        return httpx.get(f"http://{address}/v2/", timeout=3).status_code in (200, 401)
    except httpx.HTTPError:
        return False


@pytest.fixture
def local_registry(request: pytest.FixtureRequest) -> str:
    """Address of the open registry (also the Docker Hub mirror)."""
    if not _registry_up(OPEN_REGISTRY):
        unavailable(request, f"the open registry at {OPEN_REGISTRY}")
    return OPEN_REGISTRY


@dataclass(frozen=True)
class AuthRegistry:
    address: str
    username: str
    password: str


@pytest.fixture
def auth_registry(request: pytest.FixtureRequest) -> AuthRegistry:
    """Address and credentials of the htpasswd registry."""
    user_file, pw_file = TESTENV_STATE / "auth-user", TESTENV_STATE / "auth-password"
    if not _registry_up(AUTH_REGISTRY) or not pw_file.exists():
        unavailable(request, f"the auth registry at {AUTH_REGISTRY}")
    return AuthRegistry(AUTH_REGISTRY, user_file.read_text().strip(), pw_file.read_text().strip())


def build_context(files: dict[str, str | bytes]) -> io.BytesIO:
    """An in-memory tar build context of ``files`` (name -> text or bytes), for ``images.build(fileobj=...,
    custom_context=True)``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), int(time.time())
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def free_port() -> int:
    """A loopback port nothing listens on (free to bind, or to connect to for a refused connection)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def containers_now(docker_client: Any, filters: dict[str, str]) -> list[Any]:
    """The containers matching ``filters`` that still exist. docker-py's ``containers.list`` lists, then inspects each
    one, and raised NotFound when a parallel test's container was removed in between (a CI run failed on it)."""
    import docker.errors

    found = []
    for summary in docker_client.api.containers(all=True, filters=filters):
        try:
            found.append(docker_client.containers.get(summary["Id"]))
        except docker.errors.NotFound:
            continue  # removed between the listing and the inspect
    return found


# --- PostgreSQL (the store's second backend) -----------------------------------------------


def _postgres_base_url() -> str | None:
    path = TESTENV_STATE / "postgres.url"
    return path.read_text().strip() if path.exists() else None


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL of the test database whose tables go to a schema of this test's own (dropped afterwards): tests run in
    parallel, each sees only its own store."""
    base = _postgres_base_url()
    try:
        import psycopg

        if base is None:
            raise OSError("no postgres.url")
        admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
    except (ImportError, OSError, Exception) as e:
        unavailable(request, f"PostgreSQL ({e})")
        raise
    schema = f"t_{os.getpid()}_{int(time.time() * 1e6) % 10**12}"
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a containerkit process of a test: its own home, no config file."""
    return {**os.environ, "CONTAINERKIT_HOME": str(home), "CONTAINERKIT_CONFIG": str(home / "none.yaml"), **extra}


def start_http_server(home: Path, *args: str, host: str = "127.0.0.1", **env: str) -> tuple[subprocess.Popen[str], int]:
    """``containerkit serve -t http`` on a free port, once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "containerkit", "serve", "-t", "http", "--host", host, "--port", str(port), *args],
        env=server_env(home, **env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    url_host = f"[{host}]" if ":" in host else host
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            httpx.get(f"http://{url_host}:{port}/mcp", timeout=1)
            return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the HTTP server did not start")


#: a raw MCP initialize request over streamable HTTP (for tests of what the HTTP layer answers before any session)
MCP_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
