"""generate_manifests: goldens, every fixture validates, Dockerfile UID, kustomize overlays, the Helm chart, bad input,
CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from containerkit.analysis import analyze
from containerkit.cli import runner
from containerkit.cli.main import app as cli
from containerkit.errors import InvalidInputError, PathNotAllowedError
from containerkit.k8s import gotemplate, helm, kustomize
from containerkit.k8s.manifests import build
from containerkit.k8s.spec import AppSpec, dns1123
from containerkit.k8s.validate import validate_path
from containerkit.k8s.yamlout import dump, scalar
from containerkit.tools.k8s_manifests import GenerateManifestsResult
from tests.conftest import FIXTURE_REPOS, Harness

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_FIXTURES = ["python-health", "node-express", "python-worker", "static-site", "python-django", "php-laravel"]
ALL_SERVICES = [(repo.name, s.path) for repo in sorted(FIXTURE_REPOS.iterdir()) for s in analyze(repo).services]
IMAGE = "registry.example.com/team/app:1.4.2"


def _objects(out_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    docs = [d for f in sorted(out_dir.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def _generate(harness: Harness, repo: str, out: Path, **params: Any) -> GenerateManifestsResult:
    result = harness.call(
        "generate_manifests",
        path=str(FIXTURE_REPOS / repo),
        image=params.pop("image", IMAGE),
        out_dir=str(out),
        **params,
    )
    assert isinstance(result, GenerateManifestsResult)
    return result


def _deployment(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    return next(o for (kind, _), o in objects.items() if kind == "Deployment")


def _container(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = _deployment(objects)["spec"]["template"]["spec"]["containers"][0]
    return container


# --- goldens and validity -----------------------------------------------------------------------------


@pytest.mark.parametrize("repo", GOLDEN_FIXTURES)
def test_generated_manifests_match_their_golden_files(
    harness: Harness, tmp_path: Path, repo: str, update_goldens: bool
) -> None:
    result = _generate(harness, repo, tmp_path / "out")
    golden = GOLDEN / repo
    if update_goldens:
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(tmp_path / "out", golden)
    assert golden.exists(), f"no golden files for {repo}: review the output, then run pytest --update-goldens"
    assert sorted(Path(f).name for f in result.files) == sorted(p.name for p in golden.iterdir())
    for file in result.files:
        assert Path(file).read_text() == (golden / Path(file).name).read_text(), f"{file} differs from its golden file"


@pytest.mark.parametrize(("repo", "path"), ALL_SERVICES)
def test_manifests_for_every_fixture_service_pass_validation(
    harness: Harness, tmp_path: Path, repo: str, path: str
) -> None:
    result = _generate(harness, repo, tmp_path / "out", service=path, ingress_host="app.example.com")
    report = harness.call("validate_manifests", path=result.out_dir, session_id=result.session_id)
    assert report.valid and report.errors == 0 and report.objects == len(result.objects)
    assert [f for f in report.findings if f.severity == "warning"] == [], report.findings
    assert _empty_values(result) == [], "an empty string overrides the app's own default"


def _empty_values(result: GenerateManifestsResult) -> list[str]:
    """Env values and ConfigMap entries set to "" in the generated files."""
    found = []
    for file in result.files:
        for obj in yaml.safe_load_all(Path(file).read_text()):
            if obj and obj.get("kind") == "ConfigMap":
                found += [f"{file}: data.{k}" for k, v in (obj.get("data") or {}).items() if v == ""]
            for container in (obj or {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
                found += [f"{file}: env {e['name']}" for e in container.get("env", []) if e.get("value") == ""]
    return found


def test_output_reparses_to_the_built_objects_and_is_deterministic() -> None:
    spec = AppSpec(
        name="demo",
        namespace="shop",
        image="127.0.0.1:5001/demo:1.0",
        version="1.0",
        user_uid=10001,
        port=8080,
        health_path="/healthz",
        reads_port_env=True,
        config_env=("MODE", "yes"),
        secret_env=("API_TOKEN",),
        ingress_host="demo.example.com",
    )
    texts = [dump(m.obj, m.comments, "header") for m in build(spec)]
    assert texts == [dump(m.obj, m.comments, "header") for m in build(spec)]
    for manifest, text in zip(build(spec), texts, strict=True):
        assert yaml.safe_load(text) == manifest.obj
        assert text.startswith("# header\n")
    comments = [line for text in texts for line in text.splitlines()[1:] if line.lstrip().startswith("# ")]
    assert len(comments) >= 20


@pytest.mark.parametrize(
    "value",
    [
        "yes",
        "no",
        "null",
        "~",
        "1.0",
        "1e3",
        "0o17",
        "a: b",
        "#x",
        "",
        " lead",
        "trail ",
        "x #y",
        "@at",
        "multi\nline",
        "tab\there",
        'quote"s',
        "ünï",
        "*ref",
        "&anchor",
        "!tag",
        "- dash",
        "{x}",
        "[y]",
        "a:",
    ],
)
def test_scalars_that_yaml_would_misread_are_quoted(value: str) -> None:
    assert yaml.safe_load(f"k: {scalar(value)}") == {"k": value}


def test_dns1123_sanitizes_name_overrides() -> None:
    assert dns1123("My_App!!") == "my-app"
    assert dns1123("--x--") == "x" and dns1123("***") == ""
    assert len(dns1123("a" * 80)) == 50


# --- content -------------------------------------------------------------------------------------------


def test_web_app_with_health_route_gets_http_probes_and_hardened_pod(harness: Harness, tmp_path: Path) -> None:
    result = _generate(harness, "python-health", tmp_path / "out", ingress_host="health.example.com")
    objects = _objects(tmp_path / "out")
    assert {k for k, _ in objects} == {
        "ServiceAccount",
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
    assert result.probes == "http" and result.app_name == "python-health" and result.namespace == "default"
    dep = _deployment(objects)
    pod = dep["spec"]["template"]["spec"]
    c = _container(objects)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert c["ports"] == [{"name": "http", "containerPort": 5000, "protocol": "TCP"}]
    assert dep["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert set(c["resources"]) == {"requests", "limits"}
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert (
        pod["automountServiceAccountToken"] is False
        and objects[("ServiceAccount", "python-health")]["automountServiceAccountToken"] is False
    )
    # /tmp, and the Flask instance folder the app writes (the root filesystem is read-only)
    assert c["volumeMounts"] == [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "app-instance", "mountPath": "/app/instance"},
    ]
    assert pod["volumes"][0]["emptyDir"]
    assert dep["metadata"]["labels"] == {
        "app.kubernetes.io/name": "python-health",
        "app.kubernetes.io/instance": "python-health",
        "app.kubernetes.io/version": "1.4.2",
        "app.kubernetes.io/managed-by": "containerkit",
    }
    assert "app.kubernetes.io/version" not in dep["spec"]["selector"]["matchLabels"]
    svc = objects[("Service", "python-health")]["spec"]
    assert svc["type"] == "ClusterIP" and svc["ports"] == [
        {"name": "http", "port": 5000, "targetPort": "http", "protocol": "TCP"}
    ]
    ing = objects[("Ingress", "python-health")]
    assert ing["apiVersion"] == "networking.k8s.io/v1" and ing["spec"]["rules"][0]["host"] == "health.example.com"
    hpa = objects[("HorizontalPodAutoscaler", "python-health")]
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["minReplicas"] == 2
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert objects[("PodDisruptionBudget", "python-health")]["spec"]["minAvailable"] == 1
    netpol = objects[("NetworkPolicy", "python-health")]["spec"]
    assert netpol["policyTypes"] == ["Ingress"] and netpol["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": 5000}]}
    ]


def test_port_env_config_map_and_secret_references(harness: Harness, tmp_path: Path) -> None:
    _generate(harness, "node-express", tmp_path / "node")
    assert {"name": "PORT", "value": "3000"} in _container(_objects(tmp_path / "node"))["env"]
    result = _generate(harness, "monorepo", tmp_path / "mono", service="backend")
    objects = _objects(tmp_path / "mono")
    assert objects[("ConfigMap", "backend-config")]["data"] == {}  # no value guessed, none set empty
    assert "#   REDIS_URL: <value>" in (tmp_path / "mono" / "configmap.yaml").read_text()
    c = _container(objects)
    assert c["envFrom"] == [{"configMapRef": {"name": "backend-config"}}]
    assert c["env"] == [
        {
            "name": "DB_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "backend-secrets", "key": "DB_PASSWORD", "optional": False}},
        }
    ]
    assert "Secret" not in {k for k, _ in objects}
    assert (
        result.secret_name == "backend-secrets"
        and result.secret_keys == ["DB_PASSWORD"]
        and result.config_keys == ["REDIS_URL"]
    )
    assert any("backend-secrets" in w for w in result.warnings)


def test_worker_has_no_service_and_no_network_probes(harness: Harness, tmp_path: Path) -> None:
    result = _generate(harness, "python-worker", tmp_path / "out", ingress_host="w.example.com")
    objects = _objects(tmp_path / "out")
    assert {k for k, _ in objects} == {
        "ServiceAccount",
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
    c = _container(objects)
    assert not {"startupProbe", "readinessProbe", "livenessProbe", "ports"} & set(c)
    assert objects[("NetworkPolicy", "python-worker")]["spec"]["ingress"] == []
    assert result.probes == "none" and result.port is None


def test_http_app_without_health_route_gets_tcp_probes_and_a_warning(harness: Harness, tmp_path: Path) -> None:
    result = _generate(harness, "python-flask", tmp_path / "out")
    assert _container(_objects(tmp_path / "out"))["readinessProbe"]["tcpSocket"] == {"port": "http"}
    assert result.probes == "tcp" and any("no health route" in w for w in result.warnings)
    overridden = _generate(
        harness, "python-flask", tmp_path / "out2", health_path="/ping", port=5001, name="Flask_App", replicas=1
    )
    objects = _objects(tmp_path / "out2")
    c = _container(objects)
    assert c["readinessProbe"]["httpGet"]["path"] == "/ping" and c["ports"][0]["containerPort"] == 5001
    assert overridden.app_name == "flask-app" and _deployment(objects)["spec"]["replicas"] == 1
    assert "PodDisruptionBudget" not in {k for k, _ in objects}


def test_a_worker_given_a_port_and_health_route_is_served_with_its_args_env_and_secrets(
    harness: Harness, tmp_path: Path
) -> None:
    """A CLI whose server is a subcommand (Container Kit's own `serve`, docs/deploying.md): the analysis sees a worker;
    the port, health and readiness routes, command line, values and Secret keys given make it a served app."""
    result = _generate(
        harness,
        "python-worker",
        tmp_path / "out",
        port=8080,
        health_path="/healthz",
        readiness_path="/readyz",
        args=["worker", "serve", "--port", "8080"],
        env={"LOG_LEVEL": "debug", "HOME": "/tmp/home"},
        secret_env=["STORE_URL"],
    )
    objects = _objects(tmp_path / "out")
    c = _container(objects)
    assert c["args"] == ["worker", "serve", "--port", "8080"] and "command" not in c
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert c["startupProbe"]["httpGet"]["path"] == c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"name": "LOG_LEVEL", "value": "debug"} in c["env"] and {"name": "HOME", "value": "/tmp/home"} in c["env"]
    assert any(e["name"] == "STORE_URL" and "secretKeyRef" in e["valueFrom"] for e in c["env"])
    assert result.probes == "http" and "STORE_URL" in result.secret_keys
    assert "Service" in {k for k, _ in objects}
    assert harness.call("validate_manifests", path=str(tmp_path / "out")).errors == 0


def test_a_readiness_route_without_a_health_route_is_not_used_and_says_so(harness: Harness, tmp_path: Path) -> None:
    result = _generate(harness, "python-flask", tmp_path / "out", readiness_path="/readyz")
    assert result.probes == "tcp" and any("readiness_path /readyz is not used" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"env": {"API_TOKEN": "x"}}, "looks like a secret"),
        ({"env": {"PORT": "80"}}, "PORT is set from the port"),
        ({"env": {"1BAD": "x"}}, "not an environment variable name"),
        ({"secret_env": ["A-B"]}, "not an environment variable name"),
        ({"env": {"STORE": "x"}, "secret_env": ["STORE"]}, "both as a value"),
    ],
)
def test_given_env_that_would_leak_or_clash_is_refused(
    harness: Harness, tmp_path: Path, params: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidInputError, match=match):
        _generate(harness, "python-worker", tmp_path / "out", **params)
    assert not (tmp_path / "out").exists()


def test_static_site_probes_nginx_healthz_and_rails_gets_writable_app_dirs(harness: Harness, tmp_path: Path) -> None:
    _generate(harness, "static-site", tmp_path / "static")
    assert _container(_objects(tmp_path / "static"))["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    _generate(harness, "ruby-rails", tmp_path / "rails")
    mounts = {m["mountPath"] for m in _container(_objects(tmp_path / "rails"))["volumeMounts"]}
    assert mounts == {"/tmp", "/app/tmp", "/app/log"}


def test_security_context_matches_the_dockerfile_uid(harness: Harness, tmp_path: Path) -> None:
    for repo in ("python-health", "php-laravel"):
        copy = tmp_path / repo
        shutil.copytree(FIXTURE_REPOS / repo, copy)
        dockerfile = harness.call("generate_dockerfile", path=str(copy), write=True)
        user_line = [line for line in (copy / "Dockerfile").read_text().splitlines() if line.startswith("USER ")][-1]
        uid = int(user_line.split()[1].split(":")[0])
        result = harness.call("generate_manifests", path=str(copy), image=IMAGE, session_id=dockerfile.session_id)
        assert result.out_dir == str(copy / "k8s") and result.user_uid == uid == dockerfile.user_uid
        pod = _deployment(_objects(copy / "k8s"))["spec"]["template"]["spec"]["securityContext"]
        assert pod["runAsUser"] == pod["runAsGroup"] == pod["fsGroup"] == uid
    explicit = _generate(harness, "python-health", tmp_path / "explicit", user_uid=12345)
    assert (
        _deployment(_objects(tmp_path / "explicit"))["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
        == 12345
        == explicit.user_uid
    )


def test_port_repaired_in_the_dockerfile_step_carries_into_the_manifests(harness: Harness, tmp_path: Path) -> None:
    dockerfile = harness.call("generate_dockerfile", path=str(FIXTURE_REPOS / "python-wrong-port"), port=7000)
    result = harness.call(
        "generate_manifests",
        path=str(FIXTURE_REPOS / "python-wrong-port"),
        image=IMAGE,
        out_dir=str(tmp_path / "out"),
        session_id=dockerfile.session_id,
    )
    assert result.port == 7000 and _container(_objects(tmp_path / "out"))["ports"][0]["containerPort"] == 7000
    fresh = _generate(harness, "python-wrong-port", tmp_path / "fresh")
    assert fresh.port == 5000


def test_session_state_and_artifacts_record_the_manifests(harness: Harness, tmp_path: Path) -> None:
    result = _generate(harness, "go-gin", tmp_path / "out", namespace="shop")
    state, _ = harness.app.services.store.get_state(result.session_id)
    assert state["manifests"] == {
        "app_name": "gin-api",
        "namespace": "shop",
        "out_dir": str(tmp_path / "out"),
        "format": "plain",
    }
    artifacts = harness.app.services.store.list_artifacts(result.session_id, kind="manifest")
    assert len(artifacts) == len(result.files) == len(result.objects)
    assert all(o["metadata"]["namespace"] == "shop" for o in _objects(tmp_path / "out").values())


# --- kustomize and helm -------------------------------------------------------------------------------------


def _plain(harness: Harness, tmp_path: Path, **params: Any) -> dict[tuple[str, str], dict[str, Any]]:
    _generate(harness, "python-django", tmp_path / "plain", **params)
    return _objects(tmp_path / "plain")


def _keyed(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def test_kustomize_base_equals_plain_and_overlays_set_replicas_resources_and_tag(
    harness: Harness, tmp_path: Path
) -> None:
    plain = _plain(harness, tmp_path)
    out = tmp_path / "kustomize"
    result = _generate(harness, "python-django", out, format="kustomize")
    assert result.format == "kustomize" and (out / "base" / "kustomization.yaml").is_file()
    assert _keyed(kustomize.render(out / "base")) == plain
    dev = _keyed(kustomize.render(out / "overlays" / "dev"))
    prod = _keyed(kustomize.render(out / "overlays" / "prod"))
    dep_dev, dep_prod = dev[("Deployment", "python-django")], prod[("Deployment", "python-django")]
    assert dep_dev["spec"]["replicas"] == 1 and dep_prod["spec"]["replicas"] == 3
    assert ("PodDisruptionBudget", "python-django") not in dev and ("PodDisruptionBudget", "python-django") in prod
    c_dev = dep_dev["spec"]["template"]["spec"]["containers"][0]
    c_prod = dep_prod["spec"]["template"]["spec"]["containers"][0]
    assert c_dev["resources"]["requests"] == {"cpu": "50m", "memory": "64Mi"}
    assert c_prod["resources"]["limits"] == {"cpu": "1000m", "memory": "1024Mi"}
    assert c_dev["image"] == c_prod["image"] == IMAGE
    assert dev[("HorizontalPodAutoscaler", "python-django")]["spec"]["minReplicas"] == 1
    text = (out / "overlays" / "prod" / "kustomization.yaml").read_text()
    assert yaml.safe_load(text)["images"] == [{"name": "registry.example.com/team/app", "newTag": "1.4.2"}]
    report = harness.call("validate_manifests", path=str(out))
    assert (
        report.sources == ["base (kustomize)", "overlays/dev (kustomize)", "overlays/prod (kustomize)"]
        and report.errors == 0
    )


@pytest.mark.skipif(
    shutil.which("kubectl") is None,
    reason="kubectl (with built-in kustomize) is not installed: the cross-check "
    "against the real kustomize is skipped; the renderer tests above still run",
)
def test_overlays_render_the_same_with_the_real_kustomize(harness: Harness, tmp_path: Path) -> None:
    out = tmp_path / "kustomize"
    _generate(harness, "monorepo", out, service="backend", format="kustomize", ingress_host="b.example.com")
    for env in ("dev", "prod"):
        rendered = subprocess.run(
            ["kubectl", "kustomize", str(out / "overlays" / env)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert _keyed([d for d in yaml.safe_load_all(rendered.stdout) if d]) == _keyed(
            kustomize.render(out / "overlays" / env)
        )


def test_helm_chart_renders_to_the_plain_objects_with_default_values(harness: Harness, tmp_path: Path) -> None:
    plain = _plain(harness, tmp_path, ingress_host="django.example.com")
    out = tmp_path / "chart"
    result = _generate(harness, "python-django", out, format="helm", ingress_host="django.example.com")
    assert {Path(f).relative_to(out).as_posix() for f in result.files} >= {
        "Chart.yaml",
        "values.yaml",
        "templates/deployment.yaml",
    }
    assert _keyed([o for _, o in helm.render_chart(out)]) == plain
    values = yaml.safe_load((out / "values.yaml").read_text())
    assert (
        values["image"] == {"repository": "registry.example.com/team/app", "tag": "1.4.2"}
        and values["replicaCount"] == 2
    )
    assert set(values) == {"image", "replicaCount", "resources", "autoscaling", "ingress"}
    changed = _keyed(
        [
            o
            for _, o in helm.render_chart(
                out,
                namespace="prod",
                overrides={
                    "replicaCount": 4,
                    "image": {"tag": "2.0"},
                    "ingress": {"enabled": False},
                    "resources": {"limits": {"cpu": "2", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}},
                },
            )
        ]
    )
    dep = changed[("Deployment", "python-django")]
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert dep["spec"]["replicas"] == 4 and container["image"] == "registry.example.com/team/app:2.0"
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "2Gi"} and dep["metadata"]["namespace"] == "prod"
    assert ("Ingress", "python-django") not in changed and changed[("HorizontalPodAutoscaler", "python-django")][
        "spec"
    ]["minReplicas"] == 4
    report = harness.call("validate_manifests", path=str(out))
    assert report.sources == ["chart (helm chart)"] and report.errors == 0


def test_template_evaluator_refuses_what_it_does_not_understand() -> None:
    assert (
        gotemplate.render(
            "a: {{ .Values.x | quote }}\n{{- if .Values.y }}\nb: 1\n{{- else }}\nb: 2\n{{- end }}\n",
            {"x": "v", "y": False},
        )
        == 'a: "v"\nb: 2\n'
    )
    with pytest.raises(gotemplate.TemplateError):
        gotemplate.render('{{ include "x" . }}', {})
    with pytest.raises(gotemplate.TemplateError):
        gotemplate.render("{{ if .Values.x }}never closed", {})


# --- bad input ----------------------------------------------------------------------------------------------------


def test_bad_input_is_a_clear_typed_error(harness: Harness, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no service at 'nope'"):
        _generate(harness, "monorepo", tmp_path / "a", service="nope")
    with pytest.raises(InvalidInputError, match="say which one"):
        _generate(harness, "monorepo", tmp_path / "a")
    for image in ("UPPER/App:1", "-rm", "app:bad tag", ""):
        with pytest.raises(InvalidInputError):
            _generate(harness, "go-gin", tmp_path / "a", image=image)
    with pytest.raises(PathNotAllowedError):
        harness.call(
            "generate_manifests", path=str(FIXTURE_REPOS / "go-gin"), image=IMAGE, out_dir="/etc/containerkit-k8s"
        )
    with pytest.raises(InvalidInputError, match="namespace"):
        _generate(harness, "go-gin", tmp_path / "a", namespace="Bad_NS")
    with pytest.raises(InvalidInputError, match="ingress host"):
        _generate(harness, "go-gin", tmp_path / "a", ingress_host="not a host")
    with pytest.raises(InvalidInputError, match="format"):
        _generate(harness, "go-gin", tmp_path / "a", format="jsonnet")
    with pytest.raises(InvalidInputError, match="DNS-1123"):
        _generate(harness, "go-gin", tmp_path / "a", name="***")


def test_latest_or_missing_tag_is_a_warning(harness: Harness, tmp_path: Path) -> None:
    result = _generate(harness, "go-gin", tmp_path / "a", image="gin-api")
    assert any("no tag" in w for w in result.warnings) and _container(_objects(tmp_path / "a"))["image"] == "gin-api"
    report = harness.call("validate_manifests", path=result.out_dir)
    assert report.valid and [f.rule for f in report.findings if f.severity == "warning"] == ["CK212"]


def test_foreign_files_are_not_overwritten_without_force(harness: Harness, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _generate(harness, "go-gin", out)
    again = _generate(harness, "go-gin", out, replicas=3)
    assert again.files == first.files and "replicas: 3" in (out / "deployment.yaml").read_text()
    (out / "service.yaml").write_text("# my own service\napiVersion: v1\n")
    with pytest.raises(InvalidInputError, match="did not write") as err:
        _generate(harness, "go-gin", out)
    assert err.value.details["files"] == ["service.yaml"] and "force" in err.value.hint
    assert (out / "service.yaml").read_text().startswith("# my own service")
    forced = _generate(harness, "go-gin", out, force=True)
    assert (out / "service.yaml").read_text().startswith("# Generated by Container Kit")
    replaced = next(w for w in forced.writes if w.path == str(out / "service.yaml"))
    kept = harness.app.services.store.get_artifact(replaced.previous_artifact)[1].decode()
    assert kept.startswith("# my own service")


def test_the_apps_own_k8s_directory_is_never_mixed_with_ours(cli_app: Harness, tmp_path: Path) -> None:
    repo = tmp_path / "app"
    shutil.copytree(FIXTURE_REPOS / "go-gin", repo)
    (repo / "k8s").mkdir()
    (repo / "k8s" / "prod-ingress.yml").write_text("apiVersion: networking.k8s.io/v1\nkind: Ingress\n")
    out = CliRunner().invoke(cli, ["manifests", "generate", str(repo), "--image", "r/app:1"])
    assert out.exit_code == 2 and "did not write" in out.output and "--out" in out.output
    assert sorted(p.name for p in (repo / "k8s").iterdir()) == ["prod-ingress.yml"]


def test_a_format_change_leaves_no_file_of_the_previous_format(harness: Harness, tmp_path: Path) -> None:
    out = tmp_path / "out"
    plain = _generate(harness, "go-gin", out)
    (out / "notes.md").write_text("mine, not YAML\n")
    helm = _generate(harness, "go-gin", out, format="helm")
    assert set(helm.removed) == set(plain.files)
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert left == sorted([str(Path(f).relative_to(out)) for f in helm.files] + ["notes.md"])
    kustomize = _generate(harness, "go-gin", out, format="kustomize")
    assert not (out / "templates").exists() and not (out / "Chart.yaml").exists()
    assert {Path(f).relative_to(out).parts[0] for f in kustomize.files} == {"base", "overlays"}


# --- CLI ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def cli_app(harness: Harness) -> Any:
    runner.set_app(harness.app)
    yield harness
    runner.set_app(None)


def test_cli_manifests_path_json_prints_the_result_model(cli_app: Harness, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        [
            "manifests",
            str(FIXTURE_REPOS / "node-express"),
            "--image",
            IMAGE,
            "--out",
            str(out),
            "--namespace",
            "web",
            "--ingress",
            "node.example.com",
            "--replicas",
            "3",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    result = GenerateManifestsResult.model_validate(json.loads(res.stdout))
    assert result.out_dir == str(out) and result.namespace == "web" and result.format == "plain"
    assert sorted(result.files) == sorted(str(p) for p in out.glob("*.yaml")) and (
        "Ingress",
        "node-express",
    ) in _objects(out)
    assert _deployment(_objects(out))["spec"]["replicas"] == 3
    res = CliRunner().invoke(
        cli,
        [
            "manifests",
            "generate",
            str(FIXTURE_REPOS / "node-express"),
            "--image",
            IMAGE,
            "--out",
            str(tmp_path / "helm"),
            "--format",
            "helm",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["format"] == "helm" and (tmp_path / "helm" / "Chart.yaml").is_file()


def test_cli_manifests_validate_exit_codes(cli_app: Harness, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        CliRunner()
        .invoke(cli, ["manifests", str(FIXTURE_REPOS / "go-gin"), "--image", IMAGE, "--out", str(out)])
        .exit_code
        == 0
    )
    ok = CliRunner().invoke(cli, ["manifests", "validate", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "0 error(s)" in ok.stdout
    text = (out / "deployment.yaml").read_text().replace("replicas: 2", 'replicas: "two"')
    (out / "deployment.yaml").write_text(
        text.replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: true\n            privileged: true")
    )
    bad = CliRunner().invoke(cli, ["manifests", "validate", str(out)])
    assert bad.exit_code == 1
    error_lines = [line for line in bad.stderr.splitlines() if line.startswith("error [MANIFEST_INVALID]")]
    assert len(error_lines) == 1 and "2 error(s)" in error_lines[0]
    assert "CK201" in bad.stderr and "CK213" in bad.stderr and "Traceback" not in bad.output
    json_ok = CliRunner().invoke(cli, ["manifests", "validate", str(tmp_path / "nope")])
    assert json_ok.exit_code == 2 and "PATH_NOT_ALLOWED" in json_ok.stderr


@pytest.mark.parametrize(("port", "lowered"), [(80, True), (443, True), (1023, True), (1024, False), (8080, False)])
def test_a_privileged_port_is_made_bindable_for_the_non_root_user(tmp_path: Path, port: int, lowered: bool) -> None:
    spec = AppSpec(
        name="web", namespace="default", image="127.0.0.1:5001/web:1.0", version="1.0", user_uid=10001, port=port
    )
    (deploy,) = [m for m in build(spec) if m.kind == "Deployment"]
    pod = deploy.obj["spec"]["template"]["spec"]
    sysctls = pod["securityContext"].get("sysctls")
    assert sysctls == ([{"name": "net.ipv4.ip_unprivileged_port_start", "value": str(port)}] if lowered else None)
    assert pod["securityContext"]["runAsNonRoot"] is True  # the port is bindable without running as root
    (tmp_path / "deploy.yaml").write_text(dump(deploy.obj, deploy.comments, "test"))
    report = validate_path(tmp_path, "1.33")
    assert [f for f in report.findings if f.severity in ("error", "warning")] == [], report.findings
