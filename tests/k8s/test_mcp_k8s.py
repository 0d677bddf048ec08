"""generate_manifests -> validate_manifests -> deploy_application (fake API) -> verify_deployment through the MCP SDK client."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from containerkit.mcp.server import build_server
from tests.conftest import FIXTURE_REPOS, Harness
from tests.k8s.conftest import CANARY_TOKEN, GOOD_IMAGE, FakeCluster

pytestmark = pytest.mark.timeout(60)  # a rollout that never completes must not hang the suite


def test_generate_validate_deploy_verify_over_mcp(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    repo = tmp_path / "python-flask"
    shutil.copytree(FIXTURE_REPOS / "python-flask", repo)
    out = tmp_path / "k8s"
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async def body(client: Client) -> dict[str, Any]:
        generated = await client.call_tool("generate_manifests", {"path": str(repo), "image": GOOD_IMAGE, "out_dir": str(out),
                                                                  "namespace": "shop"})
        assert not generated.is_error, generated.content
        gen = generated.structured_content
        sid = gen["session_id"]
        validated = await client.call_tool("validate_manifests", {"path": gen["out_dir"], "session_id": sid})
        assert not validated.is_error, validated.content
        assert validated.structured_content["valid"] is True
        missing = await client.call_tool("deploy_application", {"path": gen["out_dir"], "namespace": "shop", "session_id": sid})
        assert missing.is_error and "K8S_NAMESPACE_MISSING" in str(missing.content)
        deployed = await client.call_tool("deploy_application", {"path": gen["out_dir"], "namespace": "shop", "create_namespace": True,
                                                                 "session_id": sid}, progress_callback=on_progress)
        assert not deployed.is_error, deployed.content
        verified = await client.call_tool("verify_deployment", {"name": gen["app_name"], "namespace": "shop", "session_id": sid})
        assert not verified.is_error, verified.content
        return {"gen": gen, "deployed": deployed.structured_content, "verified": verified.structured_content,
                "text": str(missing.content) + str(deployed.content) + str(verified.content)}

    async def main() -> dict[str, Any]:
        async with Client(build_server(k8s.app)) as client:
            return await body(client)

    got = anyio.run(main)
    gen, deployed, verified = got["gen"], got["deployed"], got["verified"]
    kinds = [o["kind"] for o in deployed["applied"]]
    assert kinds[0] == "Namespace" and kinds.index("Service") < kinds.index("Deployment")
    assert {o["namespace"] for o in deployed["applied"][1:]} == {"shop"}
    assert deployed["rollouts"][0]["name"] == gen["app_name"] and deployed["rollouts"][0]["complete"] is True
    assert verified["probe"]["status_code"] == 200 and verified["rollout"]["ready_replicas"] >= 1
    assert verified["probe"]["proxy_path"].startswith(f"/api/v1/namespaces/shop/services/{gen['app_name']}:")
    assert any(m and "applying" in m for _, _, m in progress)
    assert CANARY_TOKEN not in got["text"]
    assert fake_k8s.api.errors == []
