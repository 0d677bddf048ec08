"""generate_manifests -> validate_manifests -> deploy_application (fake API) -> verify_deployment through the MCP SDK
client."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from containerkit.mcp.server import build_server
from tests.conftest import FIXTURE_REPOS, Harness
from tests.k8s.conftest import CANARY_TOKEN, GOOD_IMAGE, FakeCluster, manifests

pytestmark = pytest.mark.timeout(60)  # a rollout that never completes must not hang the suite


def test_generate_validate_deploy_verify_over_mcp(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    repo = tmp_path / "python-flask"
    shutil.copytree(FIXTURE_REPOS / "python-flask", repo)
    out = tmp_path / "k8s"
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async def body(client: Client) -> dict[str, Any]:
        generated = await client.call_tool(
            "generate_manifests", {"path": str(repo), "image": GOOD_IMAGE, "out_dir": str(out), "namespace": "shop"}
        )
        assert not generated.is_error, generated.content
        gen = generated.structured_content
        sid = gen["session_id"]
        validated = await client.call_tool("validate_manifests", {"path": gen["out_dir"], "session_id": sid})
        assert not validated.is_error, validated.content
        assert validated.structured_content["valid"] is True
        missing = await client.call_tool(
            "deploy_application", {"path": gen["out_dir"], "namespace": "shop", "session_id": sid}
        )
        assert missing.is_error and "K8S_NAMESPACE_MISSING" in str(missing.content)
        deployed = await client.call_tool(
            "deploy_application",
            {"path": gen["out_dir"], "namespace": "shop", "create_namespace": True, "session_id": sid},
            progress_callback=on_progress,
        )
        assert not deployed.is_error, deployed.content
        verified = await client.call_tool(
            "verify_deployment", {"name": gen["app_name"], "namespace": "shop", "session_id": sid}
        )
        assert not verified.is_error, verified.content
        return {
            "gen": gen,
            "deployed": deployed.structured_content,
            "verified": verified.structured_content,
            "text": str(missing.content) + str(deployed.content) + str(verified.content),
        }

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


@pytest.mark.parametrize("mode", [pytest.param("legacy", id="2025-11-25"), pytest.param("2026-07-28", id="2026-07-28")])
def test_a_namespace_that_looks_like_production_is_deployed_only_when_the_user_agrees(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path, mode: str
) -> None:
    """Elicitation where the client has it; a POLICY_VIOLATION naming allow_production where it has not."""
    out = manifests(tmp_path / "web")
    asked: list[str] = []

    def answering(action: str) -> Any:
        async def elicit(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
            asked.append(params.message)
            return types.ElicitResult(action=action, content={"confirm": True} if action == "accept" else None)  # type: ignore[arg-type]

        return elicit

    async def deploy(elicitation: Any, **extra: Any) -> Any:
        kw = {"elicitation_callback": elicitation} if elicitation else {}
        async with Client(build_server(k8s.app), mode=mode, **kw) as client:
            return await client.call_tool(
                "deploy_application",
                {"path": str(out), "namespace": "shop-prod", "create_namespace": True, "wait": False, **extra},
            )

    refused = anyio.run(deploy, None)
    assert refused.is_error and refused.content[0].text.startswith("POLICY_VIOLATION")
    assert "namespace shop-prod" in refused.content[0].text and "allow_production" in refused.content[0].text
    declined = anyio.run(deploy, answering("decline"))
    assert declined.is_error and declined.content[0].text.startswith("POLICY_VIOLATION")
    assert len(asked) == 1 and "shop-prod" in asked[0]
    assert fake_k8s.api.errors == [] and _applied(fake_k8s) == []
    accepted = anyio.run(deploy, answering("accept"))
    assert not accepted.is_error, accepted.content
    assert len(asked) == 2 and ("Deployment", "shop-prod") in _applied(fake_k8s)
    allowed = anyio.run(lambda: deploy(answering("accept"), allow_production=True))
    assert not allowed.is_error and len(asked) == 2  # the parameter answers the question: nobody is asked


def _applied(cluster: FakeCluster) -> list[tuple[str, str | None]]:
    return [(o["kind"], o["metadata"].get("namespace")) for o in cluster.api.of_kind("Deployment")]
