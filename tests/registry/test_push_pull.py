"""Push, pull, tags and remote retag against the real engine and the two local registries."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest
from typer.testing import CliRunner

from containerkit.errors import ContainerKitError
from containerkit.registry.transfer import TransferPolicy
from tests.conftest import AuthRegistry, Harness
from tests.registry.helpers import small_image, unique_repo


def _err(harness: Harness, tool: str, **params: Any) -> ContainerKitError:
    with pytest.raises(ContainerKitError) as info:
        harness.call(tool, **params)
    return info.value


def test_push_to_the_open_registry_then_pull_back_by_digest(
    harness: Harness, docker_client: Any, local_registry: str
) -> None:
    ref = f"{local_registry}/{unique_repo()}:1"
    image_id = small_image(docker_client, ref)
    pushed = harness.call("push_image", reference=ref).transfer
    assert pushed.digest and pushed.digest.startswith("sha256:")
    assert pushed.registry_digest == pushed.digest and pushed.verified and pushed.attempts == 1
    assert pushed.layers >= 1 and pushed.credentials == "none"
    docker_client.images.remove(ref, force=True)
    repo = ref.rsplit(":", 1)[0]
    pulled = harness.call("pull_image", reference=f"{repo}@{pushed.digest}").transfer
    assert pulled.digest == pushed.digest and pulled.verified
    assert docker_client.images.get(f"{repo}@{pushed.digest}").id == image_id


def test_push_reports_per_layer_progress(harness: Harness, docker_client: Any, local_registry: str) -> None:
    ref = f"{local_registry}/{unique_repo()}:1"
    small_image(docker_client, ref)
    events: list[str] = []

    class Rec:
        async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None:
            events.append(message or "")

    anyio.run(lambda: harness.app.registry.call(harness.app.services, "push_image", {"reference": ref}, progress=Rec()))
    layer_events = [e for e in events if e.startswith("push layer ")]
    assert any(": Pushed (" in e or ": Layer already exists (" in e for e in layer_events)
    assert events[-1].startswith("pushed ")


def test_push_with_the_right_credentials_works(
    harness: Harness, docker_client: Any, auth_registry: AuthRegistry
) -> None:
    ref = f"{auth_registry.address}/{unique_repo()}:1"
    small_image(docker_client, ref)
    result = harness.call("push_image", reference=ref, username=auth_registry.username, password=auth_registry.password)
    assert result.transfer.verified and result.transfer.credentials == "explicit"


def test_push_with_wrong_credentials_is_registry_auth_without_retry(
    harness: Harness, docker_client: Any, auth_registry: AuthRegistry
) -> None:
    ref = f"{auth_registry.address}/{unique_repo()}:1"
    small_image(docker_client, ref)
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    harness.app.services.provide(
        TransferPolicy, TransferPolicy(retries=3, insecure=(auth_registry.address,), sleep=sleep)
    )
    err = _err(harness, "push_image", reference=ref, username=auth_registry.username, password="wrong-password")
    assert err.code == "REGISTRY_AUTH" and not err.retryable
    assert err.details["attempts"] == 1 and sleeps == []
    assert "refused" in err.hint


def test_push_without_credentials_is_registry_auth_with_a_login_hint(
    harness: Harness, docker_client: Any, auth_registry: AuthRegistry
) -> None:
    ref = f"{auth_registry.address}/{unique_repo()}:1"
    small_image(docker_client, ref)
    err = _err(harness, "push_image", reference=ref)
    assert err.code == "REGISTRY_AUTH" and "docker login 127.0.0.1:5002" in err.hint and err.details["attempts"] == 1


def test_transient_failures_are_retried_with_backoff(harness: Harness, docker_client: Any) -> None:
    ref = f"127.0.0.1:9/{unique_repo()}:1"  # nothing listens on port 9: connection refused each time
    small_image(docker_client, ref)
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    harness.app.services.provide(TransferPolicy, TransferPolicy(retries=2, backoff_s=0.5, sleep=sleep))
    err = _err(harness, "push_image", reference=ref)
    assert err.code == "NETWORK" and err.details["attempts"] == 3 and sleeps == [0.5, 1.0]
    docker_client.images.remove(ref, force=True)


def test_pull_of_a_missing_tag_is_not_found(harness: Harness, local_registry: str) -> None:
    err = _err(harness, "pull_image", reference=f"{local_registry}/{unique_repo()}:nope")
    assert err.code == "NOT_FOUND"


def test_remote_retag_then_pull_the_new_tag(harness: Harness, docker_client: Any, local_registry: str) -> None:
    ref = f"{local_registry}/{unique_repo()}:1"
    small_image(docker_client, ref)
    pushed = harness.call("push_image", reference=ref).transfer
    repo = ref.rsplit(":", 1)[0]
    retag = harness.call("retag_image", source=ref, new_tag="stable")
    assert retag.digest == pushed.digest and retag.target == f"{repo}:stable"
    assert harness.call("registry_tags", repository=repo).tags == ["1", "stable"]
    docker_client.images.remove(ref, force=True)
    assert harness.call("pull_image", reference=f"{repo}:stable").transfer.digest == pushed.digest


def test_tags_and_retag_on_the_auth_registry_use_basic_auth(
    harness: Harness, docker_client: Any, auth_registry: AuthRegistry
) -> None:
    ref = f"{auth_registry.address}/{unique_repo()}:1"
    small_image(docker_client, ref)
    creds = {"username": auth_registry.username, "password": auth_registry.password}
    harness.call("push_image", reference=ref, **creds)
    repo = ref.rsplit(":", 1)[0]
    assert harness.call("retag_image", source=ref, new_tag="v2", **creds).digest.startswith("sha256:")
    assert harness.call("registry_tags", repository=repo, **creds).tags == ["1", "v2"]
    assert _err(harness, "registry_tags", repository=repo).code == "REGISTRY_AUTH"


def test_tag_and_inspect_tools(harness: Harness, docker_client: Any, local_registry: str) -> None:
    src = f"{unique_repo()}:src"
    image_id = small_image(docker_client, src)
    tagged = harness.call("tag_image", source=src, target=f"{local_registry}/team/app:9")
    assert tagged.image.id == image_id and f"{local_registry}/team/app:9" in tagged.image.repo_tags
    assert harness.call("inspect_image", reference=image_id).image.layers >= 1
    assert _err(harness, "inspect_image", reference="ck-none/nothing:1").code == "NOT_FOUND"
    assert _err(harness, "tag_image", source=src, target="--bad").code == "INVALID_INPUT"


def test_a_canary_password_never_reaches_outputs_logs_errors_or_the_store(
    harness: Harness, docker_client: Any, auth_registry: AuthRegistry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from containerkit.cli import runner
    from containerkit.cli.main import app as cli

    canary = "ck-canary-9f8e7d6c5b4a"
    ref = f"{auth_registry.address}/{unique_repo()}:1"
    small_image(docker_client, ref)
    runner.set_app(harness.app)
    outputs: list[str] = []
    try:
        cli_runner = CliRunner()
        for args in (
            ["push", ref, "-u", auth_registry.username, "--password-stdin"],
            ["push", ref, "-u", auth_registry.username, "--password-stdin", "--json"],
            ["registry", "tags", ref.rsplit(":", 1)[0], "-u", auth_registry.username, "--password-stdin"],
            ["pull", ref, "-u", auth_registry.username, "--password-stdin", "--json"],
        ):
            res = cli_runner.invoke(cli, args, input=canary + "\n")
            assert res.exit_code == 1, res.output
            outputs.append(res.output + (res.stderr if res.stderr_bytes is not None else ""))
        (tmp_path / "pw").write_text(canary)
        res = cli_runner.invoke(
            cli, ["push", ref, "-u", auth_registry.username, "--password-file", str(tmp_path / "pw")]
        )
        outputs.append(res.output)
        err = _err(harness, "push_image", reference=ref, username=auth_registry.username, password=canary)
        outputs += [str(err), repr(err.to_dict())]
    finally:
        runner.set_app(None)
    assert all("REGISTRY_AUTH" in o for o in outputs)
    store = harness.app.services.store
    for session in store.list_sessions():
        for job in store.list_jobs(session.id):
            outputs.append(job.model_dump_json())
        outputs.append(repr(store.get_state(session.id)))
    outputs.append(caplog.text)
    assert not [o for o in outputs if canary in o]
    db = harness.app.settings.resolved_store_path
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    for path in (db, Path(f"{db}-wal")):
        if path.exists():
            assert canary.encode() not in path.read_bytes(), path


def test_a_loopback_registry_is_plain_http_without_being_configured(
    docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    """The engine treats 127.0.0.0/8 as insecure by default, so the push succeeds; our check must speak HTTP to it too
    (it spoke HTTPS, reported "unreachable, check DNS" and the push was retried three times)."""
    import json
    import os
    import subprocess
    import sys

    port = local_registry.rsplit(":", 1)[1]
    ref = f"localhost:{port}/{unique_repo()}:1"  # loopback, and in no configured list
    image_id = small_image(docker_client, ref)
    env = {
        **os.environ,
        "CONTAINERKIT_HOME": str(tmp_path),
        "CONTAINERKIT_CONFIG": str(tmp_path / "none.yaml"),
        "CONTAINERKIT_REGISTRY__INSECURE_REGISTRIES": "[]",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "containerkit", "push", ref, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    transfer = json.loads(proc.stdout)["transfer"]
    assert transfer["verified"] and transfer["attempts"] == 1 and transfer["image"] == image_id
    docker_client.images.remove(ref, force=True)


def test_a_push_that_cannot_be_checked_says_so_and_is_not_repeated(
    harness: Harness, docker_client: Any, local_registry: str
) -> None:
    """The engine pushed; reading the registry back fails: the answer is an unverified push with the reason, not a
    retryable network error that makes the pipeline push again."""
    import httpx

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    ref = f"{local_registry}/{unique_repo()}:1"
    image_id = small_image(docker_client, ref)
    harness.app.services.provide(TransferPolicy, TransferPolicy(retries=3, transport=httpx.MockTransport(refuse)))
    transfer = harness.call("push_image", reference=ref).transfer
    assert not transfer.verified and transfer.attempts == 1 and transfer.image == image_id
    assert transfer.verification and "could not be read back to verify" in transfer.verification
    docker_client.images.remove(ref, force=True)


def test_pushing_an_image_id_tags_it_and_checks_the_registry_serves_that_image(
    harness: Harness, docker_client: Any, local_registry: str
) -> None:
    ref = f"{local_registry}/{unique_repo()}:1"
    mine = small_image(docker_client, f"{ref}-mine")
    small_image(docker_client, ref)  # the tag names another image now (another run tagged it)
    transfer = harness.call("push_image", reference=ref, image=mine).transfer
    assert transfer.image == mine and transfer.verified
    assert docker_client.images.get(ref).id == mine
    for r in (ref, f"{ref}-mine"):
        docker_client.images.remove(r, force=True)
