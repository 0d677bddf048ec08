"""Kustomize output (a base plus dev/prod overlays) and a renderer for the subset Container Kit writes.

The renderer exists so generated overlays can be validated offline without ``kustomize``: it understands
``resources`` (files and directories), ``namespace``, ``images``, ``replicas`` and ``patches`` (strategic-merge
patches by kind and name, ``$patch: delete``; lists of named items merge by name). Anything else is refused with a
hint to render with ``kubectl kustomize``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from containerkit import yamlsafe
from containerkit.errors import InvalidInputError
from containerkit.k8s.rules import POD_SPEC_PATHS
from containerkit.k8s.spec import AppSpec, Manifest
from containerkit.k8s.workload import CONTAINER
from containerkit.k8s.yamlout import dump

KUSTOMIZATION = "kustomization.yaml"
API = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches"}


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image string as written, e.g. ('127.0.0.1:5001/app', '1.0', None)."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name, tag = name.rsplit(":", 1)
        return name, tag, digest or None
    return name, None, digest or None


def scale(quantity: str, factor: float) -> str:
    """'100m' x 2 -> '200m', '512Mi' x 0.5 -> '256Mi', '1' x 2 -> '2' (whole units, at least 1)."""
    match = re.fullmatch(r"(\d+)([a-zA-Z]*)", quantity)
    if not match:
        return quantity
    return f"{max(1, round(int(match.group(1)) * factor))}{match.group(2)}"


def _resources(base: dict[str, Any], requests: float, limits: float) -> dict[str, Any]:
    return {
        "requests": {k: scale(v, requests) for k, v in base["requests"].items()},
        "limits": {k: scale(v, limits) for k, v in base["limits"].items()},
    }


def _images(spec: AppSpec) -> list[dict[str, str]]:
    name, tag, digest = split_image(spec.image)
    entry = {"name": name}
    if digest:
        entry["digest"] = digest
    elif tag:
        entry["newTag"] = tag
    return [entry]


def _overlay(spec: AppSpec, env: str, replicas: int, requests: float, limits: float, header: str) -> dict[str, str]:
    has_pdb = spec.replicas > 1
    deployment_patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": spec.name},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": CONTAINER, "resources": _resources(spec.resources.as_dict(), requests, limits)}
                    ]
                }
            }
        },
    }
    hpa_patch = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": spec.name},
        "spec": {
            "minReplicas": replicas,
            "maxReplicas": max(replicas * 3, 2) if env == "prod" else max(replicas * 2, 2),
        },
    }
    files = {
        f"overlays/{env}/deployment-patch.yaml": dump(
            deployment_patch, {("spec",): f"{env}: resources for this environment"}, header
        ),
        f"overlays/{env}/hpa-patch.yaml": dump(
            hpa_patch, {("spec",): f"{env}: the autoscaler's range follows the replica count"}, header
        ),
    }
    patches = [{"path": "deployment-patch.yaml"}, {"path": "hpa-patch.yaml"}]
    if env == "dev" and has_pdb and replicas < 2:
        files[f"overlays/{env}/pdb-delete.yaml"] = dump(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": spec.name},
                "$patch": "delete",
            },
            {("$patch",): "One replica: a budget of minAvailable 1 would block every node drain"},
            header,
        )
        patches.append({"path": "pdb-delete.yaml"})
    kustomization = {
        **API,
        "resources": ["../../base"],
        "images": _images(spec),
        "replicas": [{"name": spec.name, "count": replicas}],
        "patches": patches,
    }
    files[f"overlays/{env}/{KUSTOMIZATION}"] = dump(
        kustomization,
        {
            ("images",): "Change the tag per environment here (kustomize edit set image ...)",
            ("replicas",): f"{env} replica count (the HorizontalPodAutoscaler patch keeps its minimum equal)",
        },
        header,
    )
    return files


def layout(spec: AppSpec, manifests: list[Manifest], header: str) -> dict[str, str]:
    """Relative path -> text: base/ (the plain objects + kustomization.yaml), overlays/dev and overlays/prod."""
    files = {f"base/{m.filename}": dump(m.obj, m.comments, header) for m in manifests}
    files[f"base/{KUSTOMIZATION}"] = dump(
        {**API, "resources": [m.filename for m in manifests]},
        {("resources",): "The plain objects, as generated; environments are overlays"},
        header,
    )
    files.update(_overlay(spec, "dev", 1, 0.5, 1, header))
    files.update(_overlay(spec, "prod", max(3, spec.replicas), 2, 2, header))
    return files


# --- rendering -----------------------------------------------------------------------------------


def is_kustomization(path: Path) -> bool:
    return path.is_dir() and any((path / k).is_file() for k in (KUSTOMIZATION, "kustomization.yml", "Kustomization"))


def _read_yaml(file: Path) -> list[Any]:
    try:
        return [d for d in yamlsafe.load_all(yamlsafe.read(file)) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        raise InvalidInputError(f"cannot read {file}: {e}", hint="Fix the YAML syntax (or the path) named here.") from e


def render(directory: Path, _depth: int = 0) -> list[dict[str, Any]]:
    """The objects a kustomization directory builds (the subset described above).

    Raises:
        InvalidInputError: unreadable files, a missing resource, or a kustomize feature outside the subset.
    """
    if _depth > 10:
        raise InvalidInputError(f"{directory}: kustomization resources nest too deeply (a cycle?)")
    file = next(
        directory / k for k in (KUSTOMIZATION, "kustomization.yml", "Kustomization") if (directory / k).is_file()
    )
    docs = _read_yaml(file)
    spec = docs[0] if docs and isinstance(docs[0], dict) else {}
    unsupported = sorted(set(spec) - SUPPORTED)
    if unsupported:
        raise InvalidInputError(
            f"{file} uses {', '.join(unsupported)}, which Container Kit's renderer does not support",
            hint=f"Render it with `kubectl kustomize {directory} > rendered.yaml` and validate that file.",
        )
    objects: list[dict[str, Any]] = []
    for resource in spec.get("resources") or []:
        target = (directory / str(resource)).resolve()
        if target.is_dir():
            objects += render(target, _depth + 1)
        elif target.is_file():
            objects += [d for d in _read_yaml(target) if isinstance(d, dict)]
        else:
            raise InvalidInputError(f"{file}: resource {resource!r} does not exist", hint="Fix the resources list.")
    for patch in spec.get("patches") or []:
        objects = _apply_patch(objects, directory, patch, file)
    for item in spec.get("replicas") or []:
        for obj in objects:
            if obj.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet") and obj.get("metadata", {}).get(
                "name"
            ) == item.get("name"):
                obj.setdefault("spec", {})["replicas"] = item.get("count")
    for obj in objects:
        _set_images(obj, spec.get("images") or [])
        if spec.get("namespace"):
            obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    return objects


def _apply_patch(objects: list[dict[str, Any]], directory: Path, patch: Any, file: Path) -> list[dict[str, Any]]:
    if not isinstance(patch, dict) or not (set(patch) <= {"path", "patch"}):
        raise InvalidInputError(
            f"{file}: only strategic-merge patches by path or inline are supported, got {patch!r}",
            hint=f"Render it with `kubectl kustomize {directory}` and validate the output.",
        )
    docs = _read_yaml(directory / patch["path"]) if "path" in patch else yamlsafe.load_all(str(patch["patch"]))
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        key = (doc.get("kind"), (doc.get("metadata") or {}).get("name"))
        matched = [o for o in objects if (o.get("kind"), (o.get("metadata") or {}).get("name")) == key]
        if not matched:
            raise InvalidInputError(f"{file}: patch target {key[0]}/{key[1]} not found in the resources")
        if doc.get("$patch") == "delete":
            objects = [o for o in objects if o not in matched]
            continue
        for obj in matched:
            merge(obj, doc)
    return objects


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Strategic merge, the common part: maps merge, lists of named maps merge by name, other lists are replaced."""
    for key, value in patch.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merge(current, value)
        elif (
            isinstance(value, list)
            and isinstance(current, list)
            and all(isinstance(v, dict) and "name" in v for v in value + current)
        ):
            by_name = {item["name"]: item for item in current}
            for item in value:
                if item["name"] in by_name:
                    merge(by_name[item["name"]], item)
                else:
                    current.append(item)
        else:
            target[key] = value


def _set_images(obj: dict[str, Any], images: list[dict[str, Any]]) -> None:
    path = POD_SPEC_PATHS.get(str(obj.get("kind")))
    pod: Any = obj
    for key in path or ():
        pod = pod.get(key) if isinstance(pod, dict) else None
    if not isinstance(pod, dict):
        return
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        name, tag, digest = split_image(str(container.get("image", "")))
        for rule in images:
            if rule.get("name") == name:
                new = str(rule.get("newName", name))
                if rule.get("digest"):
                    container["image"] = f"{new}@{rule['digest']}"
                else:
                    new_tag = rule.get("newTag", tag)
                    container["image"] = (
                        new
                        + (f":{new_tag}" if new_tag else "")
                        + (f"@{digest}" if digest and "newTag" not in rule else "")
                    )
