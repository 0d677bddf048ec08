"""A custom YAML workflow of real tools (examples/workflows/build-check-push.yaml) through `containerkit workflow run`.

Parallel branches (lint, secret scan, build), a condition (smoke only when lint passed; tag/push only with a registry),
a retry (push to an unreachable registry is tried twice) and a failure route (to a report step that recovers the run),
on the real engine and the local registry.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from containerkit.app import build_app
from containerkit.cli import runner
from containerkit.cli.main import app as cli
from containerkit.settings import load_settings
from tests.conftest import FIXTURE_REPOS, ROOT, free_port

SPEC = ROOT / "examples" / "workflows" / "build-check-push.yaml"
pytestmark = pytest.mark.e2e


@pytest.fixture
def ck(ck_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("CONTAINERKIT_REGISTRY__PUSH_RETRIES", "0")  # the step's own retries are what is tested
    app = build_app(load_settings())
    runner.set_app(app)

    def call(*args: str) -> Any:
        result = CliRunner().invoke(cli, list(args))
        return result.exit_code, result.stdout, result.output

    yield call
    runner.set_app(None)
    app.services.store.close()


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "python-health"
    shutil.copytree(FIXTURE_REPOS / "python-health", repo)
    return repo


def _steps(data: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {s["id"]: (s["status"], s["attempts"]) for s in data["steps"]}


def test_unreachable_registry_is_retried_then_routed_and_the_run_recovers(
    ck: Any, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    code, out, text = ck(
        "workflow",
        "run",
        str(SPEC),
        "--input",
        f"path={_repo(tmp_path)}",
        "--input",
        f"registry=127.0.0.1:{free_port()}/demo",
        "--json",
    )
    assert code == 0, text
    data = json.loads(out)
    steps = _steps(data)
    assert data["status"] == "succeeded"
    for parallel in ("lint", "secrets", "build"):
        assert steps[parallel] == ("succeeded", 1)
    assert steps["smoke"][0] == "succeeded" and steps["tag"][0] == "succeeded"
    assert steps["push"] == ("failed", 2)  # one retry with backoff, then the failure route
    assert steps["report"] == ("succeeded", 1)
    assert [e["detail"]["code"] for e in data["events"] if e["kind"] == "retry"] == ["NETWORK"]
    assert any(e["kind"] == "route" and e["detail"].get("to") == "report" for e in data["events"])


def test_with_the_local_registry_it_pushes_and_the_route_is_not_taken(
    ck: Any, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    code, out, text = ck(
        "workflow",
        "run",
        str(SPEC),
        "--input",
        f"path={_repo(tmp_path)}",
        "--input",
        f"registry={local_registry}/wf",
        "--input",
        "tag=t2",
        "--json",
    )
    assert code == 0, text
    data = json.loads(out)
    steps = _steps(data)
    assert steps["push"] == ("succeeded", 1) and steps["report"][0] == "skipped"
    assert "t2" in httpx.get(f"http://{local_registry}/v2/wf/wf-app/tags/list", timeout=10).json()["tags"]
    run_id = data["run_id"]
    code, out, text = ck("workflow", "status", run_id, "--json")
    assert code == 0, text
    assert json.loads(out)["status"] == "succeeded"
    code, out, text = ck("workflow", "list", "--json")
    assert code == 0 and run_id in out


def test_without_a_registry_tag_and_push_are_skipped_by_their_condition(
    ck: Any, docker_client: Any, tmp_path: Path
) -> None:
    code, out, text = ck("workflow", "run", str(SPEC), "--input", f"path={_repo(tmp_path)}", "--json")
    assert code == 0, text
    data = json.loads(out)
    reasons = {s["id"]: s["reason"] for s in data["steps"]}
    assert _steps(data)["smoke"][0] == "succeeded"
    assert reasons["tag"] == reasons["push"] == "no registry input"


def test_the_example_workflow_validates(ck: Any) -> None:
    code, out, text = ck("workflow", "validate", str(SPEC), "--json")
    assert code == 0, text
    assert json.loads(out)["valid"] is True
