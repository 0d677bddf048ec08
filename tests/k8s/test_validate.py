"""validate_manifests: schema errors (types, unknown fields, versions), each best-practice rule, sources, errors as
exceptions."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from containerkit.errors import InvalidInputError, ManifestInvalidError
from containerkit.k8s.manifests import build
from containerkit.k8s.schema import supported_versions
from containerkit.k8s.spec import AppSpec
from containerkit.k8s.validate import Finding
from containerkit.k8s.yamlout import dump
from containerkit.tools.k8s_manifests import ValidateManifestsResult, findings_from
from tests.conftest import Harness

SPEC = AppSpec(
    name="shop",
    namespace="default",
    image="registry.example.com/shop:1.0",
    version="1.0",
    user_uid=10001,
    port=8080,
    health_path="/healthz",
)


def _deployment() -> dict[str, Any]:
    return copy.deepcopy(next(m.obj for m in build(SPEC) if m.kind == "Deployment"))


def _pod(obj: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = obj["spec"]["template"]["spec"]
    return pod


def _c(obj: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = _pod(obj)["containers"][0]
    return container


def _write(tmp_path: Path, *objects: dict[str, Any], name: str = "app.yaml") -> Path:
    out = tmp_path / "manifests"
    out.mkdir(exist_ok=True)
    (out / name).write_text("---\n".join(dump(o) for o in objects))
    return out


def _failing(harness: Harness, path: Path, **params: Any) -> list[Finding]:
    with pytest.raises(ManifestInvalidError) as err:
        harness.call("validate_manifests", path=str(path), **params)
    assert err.value.code == "MANIFEST_INVALID"
    return findings_from(err.value)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(obj: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = obj
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(obj: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = obj
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        del node[last]

    return mutate


C = "spec.template.spec.containers.0"
POD = "spec.template.spec"

ERROR_CASES = {
    "privileged": (_set(f"{C}.securityContext.privileged", True), "CK213"),
    "hostPath": (_set(f"{POD}.volumes", [{"name": "tmp", "hostPath": {"path": "/var/run"}}]), "CK214"),
    "root": (_set(f"{POD}.securityContext.runAsUser", 0), "CK215"),
    "hostNetwork": (_set(f"{POD}.hostNetwork", True), "CK217"),
    "replicas-string": (_set("spec.replicas", "two"), "CK201"),
    "unknown-field": (_set(f"{C}.bogusField", 1), "CK201"),
    "missing-required": (_delete("spec.selector"), "CK201"),
    "missing-kind": (_delete("kind"), "CK200"),
    "missing-apiVersion": (_delete("apiVersion"), "CK200"),
}

WARNING_CASES = {
    "latest-tag": (_set(f"{C}.image", "registry.example.com/shop:latest"), "CK212"),
    "no-tag": (_set(f"{C}.image", "shop"), "CK212"),
    "no-probes": (lambda o: [_c(o).pop(p) for p in ("startupProbe", "readinessProbe", "livenessProbe")], "CK210"),
    "no-limits": (_delete(f"{C}.resources.limits"), "CK211"),
    "no-resources": (_delete(f"{C}.resources"), "CK211"),
    "may-run-as-root": (
        lambda o: (
            [_pod(o)["securityContext"].pop(k) for k in ("runAsNonRoot", "runAsUser")]
            and _c(o)["securityContext"].pop("runAsNonRoot")
        ),
        "CK215",
    ),
    "privilege-escalation": (_delete(f"{C}.securityContext.allowPrivilegeEscalation"), "CK216"),
    "old-api": (_set("apiVersion", "extensions/v1beta1"), "CK202"),
}


def test_generated_objects_are_valid_with_no_findings(harness: Harness, tmp_path: Path) -> None:
    result = harness.call("validate_manifests", path=str(_write(tmp_path, *(m.obj for m in build(SPEC)))))
    assert isinstance(result, ValidateManifestsResult)
    assert (
        result.valid
        and result.objects == len(build(SPEC))
        and result.findings == []
        and result.kubernetes_version == "1.30"
    )


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_each_error_rule_is_provoked_and_raises(harness: Harness, tmp_path: Path, case: str) -> None:
    mutate, rule = ERROR_CASES[case]
    obj = _deployment()
    mutate(obj)
    path = _write(tmp_path, obj)
    findings = _failing(harness, path)
    hit = [f for f in findings if f.rule == rule]
    assert hit and hit[0].severity == "error", findings
    assert hit[0].file == str(path / "app.yaml") and hit[0].fix and hit[0].message and hit[0].line is not None
    if rule != "CK200":
        assert hit[0].kind == "Deployment" and hit[0].name == "shop"


@pytest.mark.parametrize("case", sorted(WARNING_CASES))
def test_each_warning_rule_is_reported_without_failing(harness: Harness, tmp_path: Path, case: str) -> None:
    mutate, rule = WARNING_CASES[case]
    obj = _deployment()
    mutate(obj)
    result = harness.call("validate_manifests", path=str(_write(tmp_path, obj)))
    assert result.valid and result.errors == 0
    assert [f.rule for f in result.findings if f.severity == "warning"] == [rule], result.findings


def test_schema_findings_name_the_field_and_its_line(harness: Harness, tmp_path: Path) -> None:
    obj = _deployment()
    obj["spec"]["replicas"] = "two"
    _c(obj)["bogusField"] = 1
    path = _write(tmp_path, next(m.obj for m in build(SPEC) if m.kind == "Service"), obj)
    findings = _failing(harness, path)
    text = (path / "app.yaml").read_text().splitlines()
    replicas = next(f for f in findings if "spec.replicas" in f.message)
    assert (
        replicas.line is not None
        and text[replicas.line - 1].strip() == "replicas: two"
        and "integer" in replicas.message
    )
    unknown = next(f for f in findings if "unknown field" in f.message)
    assert "bogusField" in unknown.message
    assert [f.rule for f in findings] == ["CK201", "CK201"]


def test_strict_fails_on_warnings(harness: Harness, tmp_path: Path) -> None:
    obj = _deployment()
    _c(obj)["image"] = "shop:latest"
    path = _write(tmp_path, obj)
    assert harness.call("validate_manifests", path=str(path)).warnings == 1
    assert [f.rule for f in _failing(harness, path, strict=True)] == ["CK212"]


def test_kubernetes_version_is_chosen_and_unknown_ones_are_refused(harness: Harness, tmp_path: Path) -> None:
    path = _write(tmp_path, _deployment())
    assert harness.call("validate_manifests", path=str(path), kubernetes_version="v1.29").kubernetes_version == "1.29"
    assert harness.call("validate_manifests", path=str(path), kubernetes_version="1.31.4").kubernetes_version == "1.31"
    with pytest.raises(InvalidInputError, match=r"1\.99") as err:
        harness.call("validate_manifests", path=str(path), kubernetes_version="1.99")
    assert "1.30" in err.value.hint and err.value.details["supported"] == supported_versions()
    hpa_v1 = {
        "apiVersion": "autoscaling/v2beta2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 2},
    }
    old = harness.call(
        "validate_manifests", path=str(_write(tmp_path, hpa_v1, name="hpa.yaml")), kubernetes_version="1.25"
    )
    new = harness.call("validate_manifests", path=str(tmp_path / "manifests" / "hpa.yaml"), kubernetes_version="1.30")
    assert [f.rule for f in old.findings] == [] and [f.rule for f in new.findings] == ["CK202"]


def test_unreadable_sources_are_clear_errors(harness: Harness, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text("a: [1, 2\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        harness.call("validate_manifests", path=str(bad))
    (bad / "x.yaml").write_text("- just\n- a list\n")
    with pytest.raises(InvalidInputError, match="not a Kubernetes object"):
        harness.call("validate_manifests", path=str(bad))
    kust = tmp_path / "kust"
    kust.mkdir()
    (kust / "kustomization.yaml").write_text(yaml.safe_dump({"resources": [], "configMapGenerator": [{"name": "x"}]}))
    with pytest.raises(InvalidInputError, match="configMapGenerator") as err:
        harness.call("validate_manifests", path=str(kust))
    assert "kubectl kustomize" in err.value.hint
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "templates" / "x.yaml").write_text('{{ include "c.labels" . }}\n')
    with pytest.raises(InvalidInputError, match="template subset") as err:
        harness.call("validate_manifests", path=str(chart))
    assert "helm template" in err.value.hint


def test_a_plain_kustomization_dir_is_rendered_and_checked(harness: Harness, tmp_path: Path) -> None:
    obj = _deployment()
    _c(obj)["securityContext"]["privileged"] = True
    path = _write(tmp_path, obj, name="deployment.yaml")
    (path / "kustomization.yaml").write_text(yaml.safe_dump({"resources": ["deployment.yaml"], "namespace": "other"}))
    findings = _failing(harness, path)
    assert [f.rule for f in findings if f.severity == "error"] == ["CK213"] and "(kustomize)" in findings[0].file
