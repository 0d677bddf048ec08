"""Server-side apply of a manifest set, in a safe order, with the server's dry run and a diff against the live objects.

Order: CRDs and Namespaces, then what pods reference (ServiceAccounts, Secrets, ConfigMaps, volumes, RBAC), then
Services, then workloads, then what refers to workloads (HPA, PDB, Ingress, NetworkPolicy); unknown kinds last,
manifest order kept within a rank. Objects of namespaced kinds without a namespace get the target namespace.
Conflicts are not forced unless asked (ADR 0101): a field another manager set to another value (``kubectl scale``, an
operator) is a 409 that names the fields and the managers; ``force_conflicts`` takes them over, as
``kubectl apply --server-side --force-conflicts`` does.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from containerkit.errors import ForbiddenError, InvalidInputError, KubernetesError, NamespaceMissingError
from containerkit.k8s.client import KubeApi, Obj
from containerkit.k8s.load import LoadedObject

KIND_ORDER = [
    "CustomResourceDefinition",
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "PriorityClass",
    "StorageClass",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Pod",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Ingress",
    "NetworkPolicy",
]
_RANK = {kind: i for i, kind in enumerate(KIND_ORDER)}
#: fields the server owns; left out of diffs and of the unchanged/configured comparison
_SERVER_META = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")
_SERVER_ANNOTATIONS = ("deployment.kubernetes.io/revision", "kubectl.kubernetes.io/last-applied-configuration")

Action = Literal["created", "configured", "unchanged"]


class AppliedObject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    api_version: str
    kind: str
    name: str
    namespace: str | None
    action: Action = Field(
        description="created | configured | unchanged (what happened, or would happen in a dry run)."
    )
    note: str = ""


@dataclass(frozen=True)
class Planned:
    obj: Obj
    namespace: str | None
    source: str

    @property
    def key(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.obj['kind']} {ns}{self.obj['metadata']['name']}"


def plan(objects: list[LoadedObject], namespace: str) -> list[Planned]:
    """The objects to apply, sorted by kind rank, namespaced kinds placed in ``namespace`` when they name none.

    Raises:
        InvalidInputError: an object without apiVersion, kind or metadata.name.
    """
    for loaded in objects:  # custom kinds of the set become known (namespaced or cluster-wide) before placing objects
        if loaded.kind == "CustomResourceDefinition":
            KubeApi.register_crd(loaded.obj)
    planned: list[tuple[int, int, Planned]] = []
    for index, loaded in enumerate(objects):
        obj = copy.deepcopy(loaded.obj)
        meta = obj.get("metadata")
        if not obj.get("apiVersion") or not obj.get("kind") or not isinstance(meta, dict) or not meta.get("name"):
            raise InvalidInputError(
                f"{loaded.where}: the object needs apiVersion, kind and metadata.name",
                hint="Validate the manifests first ({tool:validate_manifests DIR}).",
            )
        ns: str | None = None
        if obj["kind"] == "CustomResourceDefinition" or not _namespaced(obj):
            meta.pop("namespace", None)
        else:
            ns = str(meta.get("namespace") or namespace)
            meta["namespace"] = ns
        planned.append((_RANK.get(str(obj["kind"]), len(KIND_ORDER)), index, Planned(obj, ns, loaded.where)))
    return [p for _, _, p in sorted(planned, key=lambda t: (t[0], t[1]))]


def _namespaced(obj: Obj) -> bool:
    try:
        return KubeApi.is_namespaced(str(obj["apiVersion"]), str(obj["kind"]))
    except (
        KubernetesError
    ):  # a custom kind not registered yet: decided after its CRD is applied (namespaced by default)
        return True


def normalize(obj: Obj | None) -> Obj:
    """The object without server-owned fields (status, managedFields, resourceVersion, uid, ...)."""
    if not obj:
        return {}
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in _SERVER_META:
        meta.pop(key, None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _SERVER_ANNOTATIONS}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return out


def _yaml(obj: Obj) -> list[str]:
    if not obj:
        return []
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines(keepends=True)


def _mask_secret(before: Obj, after: Obj) -> None:
    """Secret values never enter a diff: ``***``, marked (before)/(after) where they differ (as ``kubectl diff``)."""
    for field in ("data", "stringData"):
        old, new = before.get(field) or {}, after.get(field) or {}
        for key in set(old) | set(new):
            changed = old.get(key) != new.get(key)
            if key in old:
                old[key] = "*** (before)" if changed else "***"
            if key in new:
                new[key] = "*** (after)" if changed else "***"


def object_diff(key: str, live: Obj | None, new: Obj) -> str:
    """Unified diff of the YAML of ``live`` vs ``new`` (server-owned fields ignored, Secret values masked); empty when
    equal."""
    old, cur = normalize(live), normalize(new)
    if new.get("kind") == "Secret":
        _mask_secret(old, cur)
    before, after = _yaml(old), _yaml(cur)
    return "".join(
        difflib.unified_diff(before, after, fromfile=f"live/{key}" if live else "/dev/null", tofile=f"applied/{key}")
    )


@dataclass
class ApplyOutcome:
    applied: list[AppliedObject]
    diff: str


async def ensure_namespaces(
    api: KubeApi, planned: list[Planned], *, create: bool, dry_run: bool
) -> tuple[list[AppliedObject], set[str]]:
    """Check the target namespaces exist (those the manifests create aside); create them when asked.

    Returns the Namespaces created and the names that exist only in this dry run.

    Raises:
        NamespaceMissingError: a namespace is missing and ``create`` is false.
    """
    declared = {p.obj["metadata"]["name"] for p in planned if p.obj["kind"] == "Namespace"}
    created: list[AppliedObject] = []
    dry_only: set[str] = set()
    for name in sorted({p.namespace for p in planned if p.namespace} | (declared if dry_run else set())):
        try:
            exists = await api.get("v1", "Namespace", name, None) is not None
        except ForbiddenError:  # no RBAC to read namespaces: the apply itself will tell a missing one
            continue
        if exists:
            continue
        if name in declared:  # the manifests create it; in a dry run it will not exist for the objects after it
            dry_only.update({name} if dry_run else set())
            continue
        if not create:
            raise NamespaceMissingError(
                f"namespace {name!r} does not exist",
                details={"namespace": name, "objects": [p.key for p in planned if p.namespace == name]},
            )
        await api.create_namespace(name, dry_run=dry_run)
        created.append(
            AppliedObject(
                api_version="v1",
                kind="Namespace",
                name=name,
                namespace=None,
                action="created",
                note="created because create_namespace was set",
            )
        )
        if dry_run:
            dry_only.add(name)
    return created, dry_only


async def apply_all(
    api: KubeApi,
    planned: list[Planned],
    *,
    dry_run: bool,
    want_diff: bool,
    dry_only_namespaces: set[str],
    force_conflicts: bool = False,
) -> ApplyOutcome:
    """Apply each object in order; tell created / configured / unchanged from the live object before and the result."""
    applied: list[AppliedObject] = []
    diffs: list[str] = []
    for p in planned:
        obj = p.obj
        api_version, kind, name = str(obj["apiVersion"]), str(obj["kind"]), str(obj["metadata"]["name"])
        if p.namespace in dry_only_namespaces:
            applied.append(
                AppliedObject(
                    api_version=api_version,
                    kind=kind,
                    name=name,
                    namespace=p.namespace,
                    action="created",
                    note=f"namespace {p.namespace} does not exist yet: not checked by the server",
                )
            )
            if want_diff:
                diffs.append(object_diff(p.key, None, obj))
            continue
        live = await api.get(api_version, kind, name, p.namespace)
        result = await api.apply(obj, p.namespace, dry_run=dry_run, force=force_conflicts)
        if live is None:
            action: Action = "created"
        else:
            action = "unchanged" if normalize(live) == normalize(result) else "configured"
        applied.append(
            AppliedObject(api_version=api_version, kind=kind, name=name, namespace=p.namespace, action=action)
        )
        if want_diff:
            diffs.append(object_diff(p.key, live, result))
    return ApplyOutcome(applied=applied, diff="".join(d for d in diffs if d))


def deployments_of(planned: list[Planned]) -> list[tuple[str, str]]:
    """(name, namespace) of every Deployment in the set: the rollouts to wait for."""
    return [(str(p.obj["metadata"]["name"]), str(p.namespace)) for p in planned if p.obj["kind"] == "Deployment"]
