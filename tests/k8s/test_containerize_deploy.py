"""`containerize --deploy`: the whole pipeline on the real engine and registry, deploying to the fake Kubernetes API."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from containerkit.errors import ContainerKitError
from tests.conftest import FIXTURE_REPOS, Harness
from tests.k8s.conftest import FakeCluster

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_containerize_deploys_and_verifies_the_rollout(
    k8s: Harness, fake_k8s: FakeCluster, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    repo = tmp_path / "python-health"
    shutil.copytree(FIXTURE_REPOS / "python-health", repo)
    result = k8s.call(
        "containerize", path=str(repo), registry=f"{local_registry}/e2e", tag="d1", deploy=True, context="fake"
    )
    state = {s.id: s.status for s in result.steps}
    assert (
        state["push"] == state["manifests"] == state["validate"] == state["deploy"] == state["verify"] == "succeeded"
    ), state
    deployment = fake_k8s.api.get("Deployment", "python-health", "default")
    assert deployment is not None
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"{local_registry}/e2e/python-health:d1"
    # the manifests run as the UID the generated Dockerfile created
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001
    deploy = result.report.deploy
    assert deploy is not None and deploy.context == "fake" and deploy.applied >= 3
    assert deploy.rollouts[0].startswith("python-health: 2/2 ready") and (deploy.probe or "").endswith("-> 200")
    assert "## Deploy" in result.report_markdown


def test_containerize_reports_a_crashing_rollout_with_the_diagnosis(
    k8s: Harness, fake_k8s: FakeCluster, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    repo = tmp_path / "python-health"
    shutil.copytree(FIXTURE_REPOS / "python-health", repo)
    fake_k8s.api.images[f"{local_registry}/e2e/python-health:crash"] = "crashloop"
    with pytest.raises(ContainerKitError) as info:
        k8s.call(
            "containerize", path=str(repo), registry=f"{local_registry}/e2e", tag="crash", deploy=True, context="fake"
        )
    assert info.value.code == "ROLLOUT_FAILED"
    steps = {s["id"]: s["status"] for s in info.value.details["steps"]}  # type: ignore[index, union-attr]
    assert steps["deploy"] == "failed" and steps["verify"] == "skipped"
    # the run's error carries the deploy step's diagnosis and the routing advice
    assert "CrashLoopBackOff" in info.value.hint and "log lines" in info.value.hint
    diagnostics = info.value.details["step_error"]["diagnostics"]  # type: ignore[index, call-overload]
    assert "CrashLoopBackOff" in str(diagnostics) and "ModuleNotFoundError" in str(diagnostics)
    assert info.value.details["step_error"]["rolled_back"] is False  # type: ignore[index, call-overload]
