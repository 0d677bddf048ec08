"""verify_deployment against the fake API: health checks, diagnostics, and the HTTP probe through the service proxy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from containerkit.cli import runner
from containerkit.cli.main import app as cli
from containerkit.errors import ContainerKitError
from tests.conftest import Harness
from tests.k8s.conftest import FakeCluster, manifests

pytestmark = pytest.mark.timeout(60)  # a rollout that never completes must not hang the suite


def deployed(k8s: Harness, tmp_path: Path) -> None:
    k8s.call("deploy_application", path=str(manifests(tmp_path / "m")))


def proxied(fake: FakeCluster) -> list[str]:
    return [r.path for r in fake.api.requests if "/proxy" in r.path]


def test_verify_healthy_probes_the_readiness_path_through_the_api_proxy(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    deployed(k8s, tmp_path)
    fake_k8s.api.proxy_answers["/healthz"] = (200, '{"status": "healthy", "version": "1.0"}')
    result = k8s.call("verify_deployment", name="web")
    assert result.rollout.complete and result.rollout.ready_replicas == 2
    assert result.probe is not None and result.probe.status_code == 200 and result.probe.ok
    assert result.probe.path == "/healthz" and result.probe.port == "http" and '"healthy"' in result.probe.body_excerpt
    assert proxied(fake_k8s) == ["/api/v1/namespaces/default/services/web:http/proxy/healthz"]


def test_verify_uses_the_given_path_and_port(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    deployed(k8s, tmp_path)
    result = k8s.call("verify_deployment", name="web", path="/ready", port=80)
    assert result.probe is not None and result.probe.proxy_path.endswith("/services/web:http/proxy/ready")
    assert proxied(fake_k8s) == ["/api/v1/namespaces/default/services/web:http/proxy/ready"]


def test_verify_fails_when_the_app_answers_an_error(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    deployed(k8s, tmp_path)
    fake_k8s.api.proxy_answers["/healthz"] = (500, "database unreachable")
    with pytest.raises(ContainerKitError) as info:
        k8s.call("verify_deployment", name="web")
    probe = info.value.details["probe"]
    assert info.value.code == "ROLLOUT_FAILED" and "HTTP 500" in info.value.message
    assert isinstance(probe, dict) and probe["status_code"] == 500 and probe["body_excerpt"] == "database unreachable"


def test_an_apps_own_401_through_the_proxy_is_its_answer_not_a_refusal_of_our_credentials(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    """Seen on the real cluster: the server's /mcp answers 401 without its token; that is the app's answer (no
    Kubernetes Status object), reported like a 500 (the API server's own 401 carries a Status and stays
    K8S_UNAUTHORIZED, test_deploy)."""
    deployed(k8s, tmp_path)
    fake_k8s.api.proxy_answers["/mcp"] = (401, '{"error": "invalid_token"}')
    with pytest.raises(ContainerKitError) as info:
        k8s.call("verify_deployment", name="web", path="/mcp")
    assert info.value.code == "ROLLOUT_FAILED" and "answered HTTP 401 on /mcp" in info.value.message


def test_verify_a_crashlooping_deployment_reports_diagnostics(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    fake_k8s.api.behaviour = "crashloop"
    with pytest.raises(ContainerKitError):
        k8s.call("deploy_application", path=str(manifests(tmp_path / "m")), no_rollback=True)
    with pytest.raises(ContainerKitError) as info:
        k8s.call("verify_deployment", name="web")
    diag = info.value.details["diagnostics"]
    assert info.value.code == "ROLLOUT_FAILED" and isinstance(diag, dict)
    assert diag["reasons"] == ["CrashLoopBackOff"] and "ModuleNotFoundError" in json.dumps(diag["pods"])
    assert proxied(fake_k8s) == [], "no probe of an unhealthy deployment"


def test_verify_without_a_service_skips_the_probe_with_a_reason(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    path = manifests(tmp_path / "m")
    text = (path / "web.yaml").read_text()
    (path / "web.yaml").write_text("---".join(doc for doc in text.split("---") if "kind: Service\n" not in doc))
    k8s.call("deploy_application", path=str(path))
    result = k8s.call("verify_deployment", name="web")
    assert result.probe is None and result.probe_skipped == "no Service selects the pods of web"


def test_verify_a_missing_deployment_is_not_found(k8s: Harness) -> None:
    with pytest.raises(ContainerKitError) as info:
        k8s.call("verify_deployment", name="ghost", namespace="default")
    assert info.value.code == "NOT_FOUND" and "ghost" in info.value.message


def test_cli_verify(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    deployed(k8s, tmp_path)
    runner.set_app(k8s.app)
    try:
        res = CliRunner().invoke(cli, ["verify", "web", "--json"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)
        assert data["probe"]["status_code"] == 200 and data["rollout"]["ready_replicas"] == 2
        res = CliRunner().invoke(cli, ["verify", "web", "--path", "/"])
        assert (
            res.exit_code == 0 and "probe /api/v1/namespaces/default/services/web:http/proxy/: HTTP 200" in res.output
        )
        res = CliRunner().invoke(cli, ["verify", "ghost"])
        assert res.exit_code == 1 and "[NOT_FOUND]" in res.output
    finally:
        runner.set_app(None)
