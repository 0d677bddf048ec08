"""Deploy and verify on a real cluster when KUBECONFIG reaches one; skipped with the reason otherwise.

The app is tests/k8s/data/e2e (agnhost netexec, image overridable with CONTAINERKIT_E2E_K8S_IMAGE) in a fresh
namespace that is deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import anyio
import pytest

from containerkit.app import build_app
from containerkit.errors import ContainerKitError
from containerkit.k8s.client import connect
from containerkit.k8s.kubeconfig import KubeTarget, load_target
from containerkit.settings import load_settings
from tests.conftest import Harness
from tests.k8s.conftest import DATA

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
IMAGE = os.environ.get("CONTAINERKIT_E2E_K8S_IMAGE", "registry.k8s.io/e2e-test-images/agnhost:2.47")


def reachable_cluster() -> tuple[KubeTarget | None, str]:
    """The current context when its API server answers /version within 3 s, else None and why."""
    try:
        target = load_target(load_settings().k8s, None, dict(os.environ))
    except ContainerKitError as e:
        return None, f"no usable kubeconfig ({e.message})"

    async def version() -> str:
        async with connect(target, field_manager="containerkit-e2e", namespace="default", timeout_s=3) as api:
            return await api.server_version()

    try:
        return target, anyio.run(version)
    except ContainerKitError as e:
        return None, f"the cluster of context {target.context!r} does not answer: {e.code} {e.message}"


async def delete_namespace(target: KubeTarget, name: str) -> None:
    from lightkube import AsyncClient
    from lightkube.resources.core_v1 import Namespace

    client = AsyncClient(target.config)
    try:
        await client.delete(Namespace, name)
    finally:
        await client.close()


def test_deploy_and_verify_on_a_real_cluster(ck_home: Path, tmp_path: Path) -> None:
    target, why = reachable_cluster()
    if target is None:
        pytest.skip(f"no reachable Kubernetes cluster: {why}")
    namespace = f"ck-e2e-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "m"
    out.mkdir()
    (out / "app.yaml").write_text((DATA / "e2e" / "agnhost.yaml").read_text().replace("__IMAGE__", IMAGE))
    app = build_app(load_settings())
    harness = Harness(app=app, home=ck_home)
    try:
        deployed = harness.call("deploy_application", path=str(out), namespace=namespace, create_namespace=True, timeout_s=180)
        assert deployed.rollouts[0].complete and deployed.rollouts[0].ready_replicas == 1
        assert deployed.server_version == why
        verified = harness.call("verify_deployment", name="ck-e2e", namespace=namespace)
        assert verified.probe is not None and verified.probe.status_code == 200
    finally:
        app.services.store.close()
        anyio.run(delete_namespace, target, namespace)
