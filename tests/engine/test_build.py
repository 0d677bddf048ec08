"""Successful builds on the real engine: result, labels, cache, progress, log artifact, context, strategy selection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from containerkit.engine.context import prepare_context
from containerkit.engine.endpoint import current_environ
from containerkit.engine.service import Engine
from containerkit.engine.strategy import select_strategy
from containerkit.errors import ContainerKitError
from containerkit.settings import load_settings
from containerkit.tools.engine import BuildImageResult
from tests.conftest import Harness
from tests.engine.helpers import BASE, Recorder, app_dir, remove_images, unique

DOCKERFILE = f"""FROM {BASE}
RUN echo built > /built.txt
COPY . /app
# .dockerignore semantics checked inside the build: a wrong context fails it
RUN test -f /app/keep.log && test ! -e /app/debug.log && test ! -e /app/secret && test -f /app/src/main.py
"""
FILES = {"keep.log": "k", "debug.log": "d", "secret/key.pem": "x", "src/main.py": "print(1)\n"}
IGNORE = "*.log\n!keep.log\nsecret/\n# comment\n"


def _build(harness: Harness, path: Path, rec: Recorder | None = None, **params: Any) -> BuildImageResult:
    async def main() -> Any:
        return await harness.app.registry.call(
            harness.app.services, "build_image", {"path": str(path), **params}, progress=rec
        )

    return anyio.run(main)  # type: ignore[no-any-return]


def test_build_reports_image_steps_progress_labels_and_stores_the_log(
    harness: Harness, tmp_path: Path, docker_client: Any
) -> None:
    tag = f"{unique()}:1.2.3"
    rec = Recorder()
    path = app_dir(tmp_path / "app", DOCKERFILE, FILES, IGNORE)
    try:
        result = _build(harness, path, rec, tags=[tag])
        assert result.image_id.startswith("sha256:") and result.tags == [tag]
        assert result.size_bytes > 0 and result.layers >= 2 and result.duration_s > 0
        assert result.strategy.name in ("docker", "buildkit") and result.strategy.reason
        assert [s.line for s in result.steps[:4]] == [1, 2, 3, 5]
        assert result.context_files == 4  # Dockerfile, .dockerignore, keep.log, src/main.py
        labels = docker_client.images.get(tag).labels
        assert labels["org.opencontainers.image.source"] == str(path)
        assert labels["org.opencontainers.image.version"] == "1.2.3"
        assert labels["org.opencontainers.image.created"].endswith("Z")
        assert result.labels == {k: v for k, v in labels.items() if k.startswith("org.opencontainers.")}
        messages = rec.messages()
        assert any(m.startswith("step 2/") and "RUN echo built" in m for m in messages)
        assert any(m.startswith("step 2 RUN echo built") and m.endswith("s") for m in messages), (
            "step durations are reported"
        )
        info, content = harness.app.services.store.get_artifact(result.log_artifact_id)
        assert info.kind == "build_log" and "RUN echo built" in content.decode()
    finally:
        remove_images(docker_client, tag)


def test_rebuilding_unchanged_takes_every_dockerfile_step_from_cache(
    harness: Harness, tmp_path: Path, docker_client: Any
) -> None:
    path = app_dir(tmp_path / "app", f"FROM {BASE}\nRUN echo {unique()} > /x\nRUN echo two > /y\n")
    first = _build(harness, path)
    second = _build(harness, path)
    try:
        own = [s for s in second.steps if s.line is not None and not s.instruction.startswith("FROM")]
        assert len(own) == 2 and all(s.cached for s in own)
        assert not any(s.cached for s in first.steps if s.instruction.startswith("RUN"))
        assert second.cache.cached >= 2 and first.cache.cached < second.cache.cached
    finally:
        remove_images(docker_client, first.image_id, second.image_id)


def test_a_git_checkout_labels_revision_and_remote_and_rebuilds_fully_cached(
    harness: Harness, tmp_path: Path, docker_client: Any
) -> None:
    import subprocess

    path = app_dir(tmp_path / "repo", f"FROM {BASE}\nRUN echo {unique()} > /x\n")
    git = ["git", "-C", str(path), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "remote", "add", "origin", "https://user:tok@example.com/team/app.git"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    first, second = _build(harness, path), _build(harness, path)
    try:
        assert first.labels["org.opencontainers.image.revision"] == head
        assert first.labels["org.opencontainers.image.source"] == "https://example.com/team/app.git"  # no credentials
        assert second.image_id == first.image_id and second.cache.cached == second.cache.steps - 1  # all but FROM
    finally:
        remove_images(docker_client, first.image_id)


def test_build_args_target_and_an_outside_dockerfile(harness: Harness, tmp_path: Path, docker_client: Any) -> None:
    dockerfile = tmp_path / "elsewhere" / "Build.Dockerfile"
    dockerfile.parent.mkdir()
    dockerfile.write_text(
        f'FROM {BASE} AS first\nARG GREETING\nRUN test "$GREETING" = hello\nFROM first AS second\nRUN false\n'
    )
    path = app_dir(tmp_path / "ctx", "FROM scratch\n")
    result = _build(harness, path, dockerfile=str(dockerfile), build_args={"GREETING": "hello"}, target="first")
    try:
        assert [s.line for s in result.steps[:3]] == [1, 2, 3]
        assert not any("false" in s.instruction for s in result.steps)
    finally:
        remove_images(docker_client, result.image_id)


def test_context_over_the_limit_is_refused_and_dockerignore_shrinks_it(tmp_path: Path) -> None:
    path = app_dir(tmp_path, f"FROM {BASE}\n", {"small.txt": "s"})
    (path / "data").mkdir()
    (path / "data" / "big.bin").write_bytes(b"\0" * (2 * 1024 * 1024))
    with pytest.raises(ContainerKitError) as info:
        prepare_context(path, None, max_mb=1)
    assert info.value.code == "CONTEXT_TOO_LARGE" and ".dockerignore" in info.value.hint
    assert any(str(e).startswith("data ") for e in info.value.details["largest"])  # type: ignore[union-attr]
    (path / ".dockerignore").write_text("data/\n")
    ctx = prepare_context(path, None, max_mb=1)
    assert ctx.files == 3 and ctx.size_bytes < 1024


def test_context_too_large_through_the_tool_uses_the_setting(
    ck_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINERKIT_ENGINE__MAX_CONTEXT_MB", "1")
    from containerkit.app import build_app

    app = build_app(load_settings())
    try:
        path = app_dir(tmp_path / "app", f"FROM {BASE}\n", {"blob.bin": "x" * (1024 * 1024 + 10)})
        with pytest.raises(ContainerKitError) as info:
            Harness(app=app, home=ck_home).call("build_image", path=str(path))
        assert info.value.code == "CONTEXT_TOO_LARGE"
    finally:
        app.services.store.close()


def _buildx_present() -> bool:
    import shutil
    import subprocess

    return (
        bool(shutil.which("docker"))
        and subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode == 0
    )


def _engine(tmp_path: Path, **env: str) -> Engine:
    environ = {**current_environ(), "XDG_RUNTIME_DIR": str(tmp_path), **env}
    return Engine(load_settings().engine.model_copy(update={"podman_socket": None}), environ)


@pytest.mark.usefixtures("docker_client")
def test_auto_selection_skips_absent_strategies_and_says_why(tmp_path: Path) -> None:
    strategy, choice = anyio.run(select_strategy, "auto", _engine(tmp_path).strategies())
    if _buildx_present():
        assert choice.name == "buildkit"
    else:
        assert choice.name == "docker" and strategy.name == "docker"
        assert choice.skipped and choice.skipped[0].startswith("buildkit: ") and "buildx" in choice.skipped[0]
        assert "API 1." in choice.reason


@pytest.mark.skipif(_buildx_present(), reason="buildx is installed here; its absence cannot be observed")
def test_explicit_buildkit_without_the_plugin_fails_with_install_hint(tmp_path: Path) -> None:
    with pytest.raises(ContainerKitError) as info:
        anyio.run(select_strategy, "buildkit", _engine(tmp_path).strategies())
    assert info.value.code == "TOOL_MISSING" and "buildx" in info.value.hint


def test_explicit_podman_without_a_socket_names_the_places_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ContainerKitError) as info:
        anyio.run(select_strategy, "podman", _engine(tmp_path).strategies())
    assert info.value.code == "ENGINE_UNAVAILABLE"
    assert str(tmp_path / "podman" / "podman.sock") in info.value.message and "podman.socket" in info.value.hint


def test_docker_context_is_honoured_when_docker_host_is_unset(tmp_path: Path) -> None:
    import hashlib

    config = tmp_path / "dockercfg"
    meta = config / "contexts" / "meta" / hashlib.sha256(b"ck-remote").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps(
            {
                "Name": "ck-remote",
                "Metadata": {},
                "Endpoints": {"docker": {"Host": "tcp://10.9.8.7:2376", "SkipTLSVerify": False}},
            }
        )
    )
    (config / "config.json").write_text(json.dumps({"currentContext": "ck-remote"}))
    environ = {k: v for k, v in current_environ().items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    endpoint = Engine(load_settings().engine, {**environ, "DOCKER_CONFIG": str(config)}).docker_endpoint()
    assert endpoint.base_url == "tcp://10.9.8.7:2376" and "docker context ck-remote" in endpoint.source
    named = Engine(
        load_settings().engine, {**environ, "DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "default"}
    ).docker_endpoint()
    assert named.source == "default socket"
    with_host = Engine(
        load_settings().engine, {**environ, "DOCKER_CONFIG": str(config), "DOCKER_HOST": "tcp://1.2.3.4:2375"}
    )
    assert (
        with_host.docker_endpoint().base_url == "tcp://1.2.3.4:2375"
        and with_host.docker_endpoint().source == "DOCKER_HOST"
    )
    with pytest.raises(ContainerKitError) as info:
        Engine(
            load_settings().engine, {**environ, "DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "nope"}
        ).docker_endpoint()
    assert info.value.code == "ENGINE_UNAVAILABLE" and "nope" in info.value.message
