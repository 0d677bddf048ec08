"""deploy_application against the HTTP-level fake API: order, SSA, dry run, diff, rollout failures, rollback, errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from containerkit.cli import runner
from containerkit.cli.main import app as cli
from containerkit.errors import ContainerKitError
from tests.conftest import Harness
from tests.k8s.conftest import CANARY_TOKEN, CRASH_IMAGE, GOOD_IMAGE, FakeCluster, manifests
from tests.k8s.fake_api import Request

pytestmark = pytest.mark.timeout(60)  # a rollout that never completes must not hang the suite

SAFE_ORDER = ["ServiceAccount", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget", "NetworkPolicy"]


def applies(requests: list[Request]) -> list[Request]:
    return [r for r in requests if r.method == "PATCH" and r.content_type == "application/apply-patch+yaml"]


def fails(harness: Harness, **params: Any) -> ContainerKitError:
    with pytest.raises(ContainerKitError) as info:
        harness.call("deploy_application", **params)
    return info.value


def test_deploy_applies_in_safe_order_with_server_side_apply_and_waits_for_ready(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    result = k8s.call("deploy_application", path=str(manifests(tmp_path / "m")))
    sent = applies(fake_k8s.api.requests)
    assert [r.body["kind"] for r in sent] == SAFE_ORDER
    assert all(r.query.get("fieldManager") == "containerkit" and r.query.get("force") in (None, "false") for r in sent)
    assert not any("dryRun" in r.query for r in sent)
    assert all(r.path.startswith("/api/v1/namespaces/default/") or "/namespaces/default/" in r.path for r in sent)
    assert [o.kind for o in result.applied] == SAFE_ORDER and {o.action for o in result.applied} == {"created"}
    [rollout] = result.rollouts
    assert (rollout.ready_replicas, rollout.updated_replicas, rollout.available_replicas, rollout.revision) == (
        2,
        2,
        2,
        1,
    )
    assert rollout.complete and result.server_version == "v1.30.0-fake" and result.context == "fake"
    reads = [r for r in fake_k8s.api.requests if r.method == "GET" and r.path.endswith("/deployments/web")]
    assert len(reads) >= 3, "the rollout is polled until the controller reports it ready"
    assert fake_k8s.api.errors == []

    again = k8s.call("deploy_application", path=str(manifests(tmp_path / "m")))
    assert {o.action for o in again.applied} == {"unchanged"}


def test_dry_run_sends_dry_run_all_and_changes_nothing(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    result = k8s.call("deploy_application", path=str(manifests(tmp_path / "m")), dry_run=True)
    sent = applies(fake_k8s.api.requests)
    assert len(sent) == 6 and all(r.query.get("dryRun") == "All" for r in sent)
    assert result.dry_run and result.rollouts == [] and fake_k8s.api.get("Deployment", "web", "default") is None
    assert fake_k8s.api.of_kind("Pod") == []


def test_diff_shows_the_changed_image_against_the_live_object(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    k8s.call("deploy_application", path=str(manifests(tmp_path / "v1")))
    result = k8s.call("deploy_application", path=str(manifests(tmp_path / "v2", CRASH_IMAGE)), dry_run=True, diff=True)
    assert f"-        image: {GOOD_IMAGE}" in result.diff and f"+        image: {CRASH_IMAGE}" in result.diff
    assert "live/Deployment default/web" in result.diff
    assert "managedFields" not in result.diff and "resourceVersion" not in result.diff and "status:" not in result.diff
    actions = {o.kind: o.action for o in result.applied}
    assert actions["Deployment"] == "configured" and actions["Service"] == "unchanged"
    live = fake_k8s.api.get("Deployment", "web", "default")
    assert live is not None and live["spec"]["template"]["spec"]["containers"][0]["image"] == GOOD_IMAGE


def test_crashloop_fails_with_diagnostics_and_rolls_back_to_the_previous_revision(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    k8s.call("deploy_application", path=str(manifests(tmp_path / "v1")))
    fake_k8s.api.images[CRASH_IMAGE] = "crashloop"
    fake_k8s.api.steps_to_ready = 3  # the rollback takes a few polls, while the crashing pods are still there
    err = fails(k8s, path=str(manifests(tmp_path / "v2", CRASH_IMAGE)), timeout_s=10)
    assert err.code == "ROLLOUT_FAILED"
    assert err.details["rollback_complete"] is True and "serves again" in err.message
    diag: Any = err.details["diagnostics"]
    assert "CrashLoopBackOff" in diag["reasons"]
    crashing = [c for p in diag["pods"] for c in p["containers"] if c["reason"] == "CrashLoopBackOff"]
    assert crashing and crashing[0]["restart_count"] == 3 and crashing[0]["last_exit_code"] == 1
    assert "ModuleNotFoundError: No module named 'flask'" in crashing[0]["log_tail"]
    assert any(e["reason"] == "BackOff" and e["type"] == "Warning" for e in diag["events"])
    log_reads = [r for r in fake_k8s.api.requests if r.path.endswith("/log")]
    assert log_reads and log_reads[0].query["previous"] == "true" and log_reads[0].query["tailLines"] == "20"
    assert err.details["rolled_back"] is True and err.details["rollback_revision"] == 1

    [undo] = [
        r for r in fake_k8s.api.requests if r.method == "PATCH" and r.content_type == "application/json-patch+json"
    ]
    assert undo.path == "/apis/apps/v1/namespaces/default/deployments/web"
    [op] = undo.body
    assert op["op"] == "replace" and op["path"] == "/spec/template"
    assert op["value"]["spec"]["containers"][0]["image"] == GOOD_IMAGE
    assert "pod-template-hash" not in op["value"]["metadata"]["labels"]
    live = fake_k8s.api.get("Deployment", "web", "default")
    assert live is not None and live["spec"]["template"]["spec"]["containers"][0]["image"] == GOOD_IMAGE
    assert live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3", (
        "rolling back makes a new revision"
    )
    decision = explained(k8s, err)
    assert decision.detail == {"reasons": ["CrashLoopBackOff"]} and "last log lines" in decision.reason


def explained(harness: Harness, err: ContainerKitError) -> Any:
    """What the workflow's failure router (explain_rollout) makes of a deploy error."""
    import anyio

    from containerkit.workflow.fixers import explain_rollout
    from containerkit.workflow.routing import load_rules
    from containerkit.workflow.runner import FailureContext
    from containerkit.workflow.spec import StepSpec

    rule = load_rules().match("deploy_application", err.code)
    assert rule is not None and rule.fixer == "explain_rollout"
    failure = FailureContext(
        run_id="r",
        session_id="s",
        step=StepSpec(id="deploy", tool="deploy_application"),
        params={},
        error=err,
        attempt=1,
        context={},
    )
    return anyio.run(explain_rollout, failure, harness.app.services, rule)


def test_no_rollback_leaves_the_failed_rollout_and_sends_no_patch(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    k8s.call("deploy_application", path=str(manifests(tmp_path / "v1")))
    fake_k8s.api.images[CRASH_IMAGE] = "crashloop"
    err = fails(k8s, path=str(manifests(tmp_path / "v2", CRASH_IMAGE)), no_rollback=True)
    assert err.code == "ROLLOUT_FAILED" and err.details["rolled_back"] is False
    assert not [r for r in fake_k8s.api.requests if r.content_type == "application/json-patch+json"]
    live = fake_k8s.api.get("Deployment", "web", "default")
    assert live is not None and live["spec"]["template"]["spec"]["containers"][0]["image"] == CRASH_IMAGE


def test_a_failing_first_revision_has_nothing_to_roll_back_to(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    fake_k8s.api.behaviour = "oomkilled"
    err = fails(k8s, path=str(manifests(tmp_path / "m")))
    assert err.code == "ROLLOUT_FAILED" and err.details["rolled_back"] is False
    assert "no previous revision" in err.message
    assert set(err.details["diagnostics"]["reasons"]) == {"CrashLoopBackOff", "OOMKilled"}  # type: ignore[arg-type,index,call-overload]


def test_image_pull_failure_is_its_own_code_with_the_push_or_load_hint(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    fake_k8s.api.behaviour = "imagepull"
    err = fails(k8s, path=str(manifests(tmp_path / "m")))
    assert err.code == "IMAGE_PULL_FAILED"
    assert "push" in err.hint and "kind load docker-image" in err.hint and GOOD_IMAGE in err.hint
    diag: Any = err.details["diagnostics"]
    assert "ImagePullBackOff" in diag["reasons"]
    assert any(e["reason"] == "Failed" and "not found" in e["message"] for e in diag["events"])
    assert "push the image" in explained(k8s, err).reason


def test_unschedulable_pods_fail_the_rollout_with_the_scheduler_message(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    fake_k8s.api.behaviour = "unschedulable"
    err = fails(k8s, path=str(manifests(tmp_path / "m")))
    diag: Any = err.details["diagnostics"]
    assert err.code == "ROLLOUT_FAILED" and diag["reasons"] == ["Unschedulable"]
    assert "Insufficient memory" in diag["pods"][0]["unschedulable"]
    assert any(e["reason"] == "FailedScheduling" for e in diag["events"])


def test_rollout_deadline_is_a_rollout_failure(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    fake_k8s.api.steps_to_ready = 10_000
    err = fails(k8s, path=str(manifests(tmp_path / "m")), timeout_s=0.3)
    assert err.code == "ROLLOUT_FAILED" and err.details["timed_out"] is True and "after 0.3s" in err.message


def test_rbac_forbidden_names_the_verb_and_resource(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    fake_k8s.api.forbidden.add(("patch", "deployments.apps"))
    err = fails(k8s, path=str(manifests(tmp_path / "m")))
    assert err.code == "K8S_FORBIDDEN"
    assert (err.details["verb"], err.details["resource"], err.details["group"]) == ("patch", "deployments", "apps")
    assert "patch" in err.message and "deployments.apps" in err.message and "deployments.apps" in err.hint


def test_missing_namespace_is_reported_and_created_when_asked(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    err = fails(k8s, path=str(manifests(tmp_path / "m")), namespace="shop")
    assert err.code == "K8S_NAMESPACE_MISSING" and err.details["namespace"] == "shop"
    assert fake_k8s.api.writes() == []

    result = k8s.call(
        "deploy_application", path=str(manifests(tmp_path / "m")), namespace="shop", create_namespace=True
    )
    first = fake_k8s.api.writes()[0]
    assert first.path == "/api/v1/namespaces/shop" and first.body["kind"] == "Namespace"
    assert result.applied[0].kind == "Namespace" and result.applied[0].action == "created"
    assert fake_k8s.api.get("Deployment", "web", "shop") is not None


def test_namespace_missing_from_the_api_server_maps_to_its_code(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    fake_k8s.api.forbidden.add(("get", "namespaces"))  # the pre-check cannot look: the API server's 404 says it
    err = fails(k8s, path=str(manifests(tmp_path / "m")), namespace="shop")
    assert err.code == "K8S_NAMESPACE_MISSING" and err.details["namespace"] == "shop"


def test_invalid_object_is_refused_by_the_server(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    path = manifests(tmp_path / "m")
    (path / "web.yaml").write_text(
        (path / "web.yaml")
        .read_text()
        .replace("    metadata:\n      labels: {app: web}", "    metadata:\n      labels: {app: other}")
    )
    err = fails(k8s, path=str(path))
    assert err.code == "MANIFEST_INVALID" and "selector" in err.message


def test_unreachable_cluster(k8s: Harness, tmp_path: Path) -> None:
    err = fails(k8s, path=str(manifests(tmp_path / "m")), context="unreachable")
    assert err.code == "K8S_UNREACHABLE" and err.retryable and "refused" in err.message


def test_unknown_context_lists_the_available_ones(k8s: Harness, tmp_path: Path) -> None:
    err = fails(k8s, path=str(manifests(tmp_path / "m")), context="prod")
    assert err.code == "K8S_CONFIG" and "fake, stale-token, unreachable" in err.message
    assert err.details["contexts"] == ["fake", "stale-token", "unreachable"]


def test_missing_kubeconfig(ck_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from containerkit.app import build_app
    from containerkit.settings import load_settings

    monkeypatch.setenv("CONTAINERKIT_K8S__KUBECONFIG", str(tmp_path / "nope"))
    app = build_app(load_settings())
    try:
        err = fails(Harness(app=app, home=ck_home), path=str(manifests(tmp_path / "m")))
    finally:
        app.services.store.close()
    assert err.code == "K8S_CONFIG" and "no kubeconfig" in err.message


def test_rejected_token_is_unauthorized(k8s: Harness, tmp_path: Path) -> None:
    err = fails(k8s, path=str(manifests(tmp_path / "m")), context="stale-token")
    assert err.code == "K8S_UNAUTHORIZED" and "401" in err.message


def test_the_kubeconfig_token_never_leaks(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    fake_k8s.api.behaviour = "crashloop"
    path = manifests(tmp_path / "m")
    fake_k8s.api.images[GOOD_IMAGE] = "healthy"
    k8s.call("deploy_application", path=str(path))
    fake_k8s.api.images.clear()
    fake_k8s.api.log_suffix = (
        f"\nKUBE_TOKEN={CANARY_TOKEN}\nconnecting with {CANARY_TOKEN}"  # the app prints its environment
    )
    err = fails(k8s, path=str(manifests(tmp_path / "v2", CRASH_IMAGE)))
    assert err.code == "ROLLOUT_FAILED" and "***" in json.dumps(err.details)
    outputs = [json.dumps(err.to_dict()), str(err)]
    runner.set_app(k8s.app)
    try:
        for args in (
            ["deploy", str(path), "--json"],
            ["deploy", str(manifests(tmp_path / "v3", CRASH_IMAGE))],
            ["deploy", str(path), "--context", "prod"],
            ["verify", "web", "--json"],
        ):
            res = CliRunner().invoke(cli, args)
            outputs.append(res.output)
    finally:
        runner.set_app(None)
    for text in outputs:
        assert CANARY_TOKEN not in text
    store = k8s.app.settings.resolved_store_path
    for file in store.parent.glob(store.name + "*"):
        assert CANARY_TOKEN.encode() not in file.read_bytes(), file


def test_cli_deploy_json_is_the_result_and_failures_print_diagnostics(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    runner.set_app(k8s.app)
    try:
        res = CliRunner().invoke(cli, ["deploy", str(manifests(tmp_path / "m")), "--json"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)
        assert data["rollouts"][0]["ready_replicas"] == 2 and [o["kind"] for o in data["applied"]] == SAFE_ORDER
        res = CliRunner().invoke(cli, ["deploy", str(manifests(tmp_path / "v2", CRASH_IMAGE)), "--dry-run", "--diff"])
        assert (
            res.exit_code == 0
            and f"+        image: {CRASH_IMAGE}" in res.output
            and "Dry run against fake" in res.output
        )
        fake_k8s.api.images[CRASH_IMAGE] = "crashloop"
        res = CliRunner().invoke(cli, ["deploy", str(manifests(tmp_path / "v2", CRASH_IMAGE)), "--timeout", "5"])
        assert res.exit_code == 1 and "[ROLLOUT_FAILED]" in res.output
        assert (
            "CrashLoopBackOff" in res.output
            and "ModuleNotFoundError" in res.output
            and "rolled deployment web back" in res.output
        )
        res = CliRunner().invoke(cli, ["deploy", str(manifests(tmp_path / "m")), "--context", "nope"])
        assert res.exit_code == 2 and "[K8S_CONFIG]" in res.output
    finally:
        runner.set_app(None)


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Widget, plural: widgets, singular: widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""


def test_crds_and_namespaces_come_first_and_custom_objects_use_their_scope(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    path = manifests(tmp_path / "m")
    (path / "a-widget.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n"
    )
    (path / "b-ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    (path / "c-crd.yaml").write_text(CRD)
    result = k8s.call("deploy_application", path=str(path), namespace="shop")
    kinds = [r.body["kind"] for r in applies(fake_k8s.api.requests)]
    assert kinds[:2] == ["CustomResourceDefinition", "Namespace"] and kinds[-1] == "Widget"
    widget = next(r for r in applies(fake_k8s.api.requests) if r.body["kind"] == "Widget")
    assert widget.path == "/apis/example.com/v1/widgets/w1", "a cluster-scoped custom kind gets no namespace"
    assert {o.namespace for o in result.applied if o.kind in ("Deployment", "Service")} == {"shop"}
    assert fake_k8s.api.errors == []


def test_unusable_tls_files_are_a_config_error(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    import yaml

    doc = yaml.safe_load(fake_k8s.kubeconfig.read_text())
    doc["clusters"].append(
        {
            "name": "tls",
            "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority": str(tmp_path / "missing-ca.crt")},
        }
    )
    doc["contexts"].append({"name": "tls", "context": {"cluster": "tls", "user": "ck-test"}})
    fake_k8s.kubeconfig.write_text(yaml.safe_dump(doc))
    err = fails(k8s, path=str(manifests(tmp_path / "m")), context="tls")
    assert err.code == "K8S_CONFIG" and "tls" in err.message


def test_secret_values_never_appear_in_a_diff(k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path) -> None:
    path = manifests(tmp_path / "m")
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: web-secrets}\nstringData: {API_KEY: %s, MODE: same}\n"
    (path / "secret.yaml").write_text(secret % "first-value-1234")
    k8s.call("deploy_application", path=str(path))
    (path / "secret.yaml").write_text(secret % "second-value-5678")
    result = k8s.call("deploy_application", path=str(path), dry_run=True, diff=True)
    assert "-  API_KEY: '*** (before)'" in result.diff and "+  API_KEY: '*** (after)'" in result.diff
    encoded = [base64.b64encode(v.encode()).decode() for v in ("first-value-1234", "second-value-5678")]
    assert not any(v in result.diff for v in ["first-value", "second-value", *encoded])
    live = fake_k8s.api.get("Secret", "web-secrets", "default")
    assert live is not None and live["data"]["API_KEY"] == encoded[0], "the dry run stored nothing"


def test_dry_run_of_a_set_creating_its_namespace_does_not_fail_on_the_missing_namespace(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    path = manifests(tmp_path / "m")
    (path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    result = k8s.call("deploy_application", path=str(path), namespace="shop", dry_run=True, diff=True)
    assert result.applied[0].kind == "Namespace" and {o.action for o in result.applied} == {"created"}
    assert all("not checked by the server" in o.note for o in result.applied[1:])
    assert "+++ applied/Deployment shop/web" in result.diff and fake_k8s.api.get("Namespace", "shop") is None
    k8s.call("deploy_application", path=str(path), namespace="shop")
    again = k8s.call("deploy_application", path=str(path), namespace="shop", dry_run=True)
    assert {o.action for o in again.applied} == {"unchanged"} and all(o.note == "" for o in again.applied)


def test_fields_another_manager_changed_are_a_conflict_unless_force_conflicts(
    k8s: Harness, fake_k8s: FakeCluster, tmp_path: Path
) -> None:
    import httpx

    path = manifests(tmp_path / "m")
    k8s.call("deploy_application", path=str(path))
    url = f"{fake_k8s.api.url}/apis/apps/v1/namespaces/default/deployments/web"
    auth = {"Authorization": f"Bearer {CANARY_TOKEN}"}
    scaled = httpx.patch(
        url,
        params={"fieldManager": "kubectl-scale"},
        json={"spec": {"replicas": 5}},
        headers={**auth, "Content-Type": "application/merge-patch+json"},
    )
    assert scaled.status_code == 200
    deployment = next(r.body for r in applies(fake_k8s.api.requests) if r.body["kind"] == "Deployment")
    unforced = httpx.patch(
        url,
        params={"fieldManager": "containerkit"},
        content=json.dumps(deployment),
        headers={**auth, "Content-Type": "application/apply-patch+yaml"},
    )
    assert unforced.status_code == 409 and 'conflict with "kubectl-scale"' in unforced.json()["message"]

    conflict = fails(k8s, path=str(path))
    assert conflict.code == "CONFLICT" and conflict.details["managers"] == ["kubectl-scale"]
    assert "spec.replicas" in conflict.message and "force_conflicts" in conflict.hint
    assert fake_k8s.api.get("Deployment", "web", "default")["spec"]["replicas"] == 5  # type: ignore[index]

    result = k8s.call("deploy_application", path=str(path), force_conflicts=True)
    assert result.rollouts[0].replicas == 2 and {o.action for o in result.applied if o.kind == "Deployment"} == {
        "configured"
    }
    live = fake_k8s.api.get("Deployment", "web", "default")
    assert live is not None and live["spec"]["replicas"] == 2
    owners = {m["manager"]: m["fieldsV1"] for m in live["metadata"]["managedFields"]}
    assert "f:replicas" in owners["containerkit"]["f:spec"] and "kubectl-scale" not in owners
