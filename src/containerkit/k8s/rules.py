"""Best-practice rules for workload objects (beyond what the OpenAPI schema can say).

| rule  | severity | finds |
|-------|----------|-------|
| CK210 | warning (info without ports) | a long-running container without readiness/liveness probes |
| CK211 | warning  | a container without CPU/memory requests or limits |
| CK212 | warning  | an image with the ``latest`` tag or no tag |
| CK213 | error    | a privileged container |
| CK214 | error    | a hostPath volume |
| CK215 | error / warning | runs as root (runAsUser 0) / root not ruled out (no runAsNonRoot) |
| CK216 | warning  | allowPrivilegeEscalation not set to false |
| CK217 | error    | hostNetwork, hostPID or hostIPC |
| CK218 | info     | a writable root filesystem |
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]

POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
#: kinds whose containers run to completion: no probes expected
BATCH = {"Job", "CronJob"}


@dataclass(frozen=True)
class RuleHit:
    rule: str
    severity: Severity
    path: tuple[str | int, ...]
    message: str
    fix: str


def _get(obj: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        if isinstance(obj, dict) and isinstance(key, str):
            obj = obj.get(key)
        elif isinstance(obj, list) and isinstance(key, int) and key < len(obj):
            obj = obj[key]
        else:
            return None
    return obj


def _map(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def image_tag_problem(image: str) -> str | None:
    """'latest' or 'missing' when the image reference is not pinned to a version, else None."""
    if "@" in image:
        return None
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return "missing"
    return "latest" if name.rsplit(":", 1)[1] == "latest" else None


def check(obj: dict[str, Any]) -> list[RuleHit]:
    """Rule hits for one object; objects without a pod template have none."""
    kind = str(obj.get("kind", ""))
    base = POD_SPEC_PATHS.get(kind)
    pod = _get(obj, base) if base else None
    if base is None or not isinstance(pod, dict):
        return []
    return list(_pod(kind, base, pod))


def _pod(kind: str, base: tuple[str | int, ...], pod: dict[str, Any]) -> Iterator[RuleHit]:
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag) is True:
            yield RuleHit(
                "CK217",
                "error",
                (*base, flag),
                f"the pod shares the node's {flag.removeprefix('host')} namespace ({flag}: true)",
                f"Remove {flag}; expose the app through a Service instead.",
            )
    for i, volume in enumerate(pod.get("volumes") or []):
        if isinstance(volume, dict) and "hostPath" in volume:
            yield RuleHit(
                "CK214",
                "error",
                (*base, "volumes", i, "hostPath"),
                f"volume {volume.get('name', i)!r} mounts a path of the node (hostPath)",
                "Use an emptyDir for scratch space or a PersistentVolumeClaim for data.",
            )
    pod_sc = _map(pod, "securityContext")
    for group in ("initContainers", "containers"):
        for i, container in enumerate(pod.get(group) or []):
            if isinstance(container, dict):
                yield from _container(kind, (*base, group, i), container, pod_sc, probes=group == "containers")


def _container(
    kind: str, path: tuple[str | int, ...], c: dict[str, Any], pod_sc: dict[str, Any], *, probes: bool
) -> Iterator[RuleHit]:
    name = c.get("name", path[-1])
    sc = _map(c, "securityContext")
    image = c.get("image")
    if isinstance(image, str):
        problem = image_tag_problem(image)
        if problem:
            yield RuleHit(
                "CK212",
                "warning",
                (*path, "image"),
                f"container {name!r} uses image {image!r} with "
                f"{'the latest tag' if problem == 'latest' else 'no tag (means latest)'}",
                "Use an immutable version tag (or a digest) so rollouts and rollbacks are reproducible.",
            )
    if probes and kind not in BATCH:
        missing = [p for p in ("readinessProbe", "livenessProbe") if p not in c]
        if missing:
            has_ports = bool(c.get("ports"))
            yield RuleHit(
                "CK210",
                "warning" if has_ports else "info",
                path,
                f"container {name!r} has no {' and no '.join(missing)}",
                "Add probes on the app's port (httpGet on its health route, tcpSocket otherwise)."
                if has_ports
                else "A container without ports can only be restarted when it exits; add an exec probe if it can hang.",
            )
    resources = _map(c, "resources")
    absent = [
        f"{kind_}.{res}"
        for kind_ in ("requests", "limits")
        for res in ("cpu", "memory")
        if not isinstance(resources.get(kind_), dict) or res not in resources[kind_]
    ]
    if absent:
        yield RuleHit(
            "CK211",
            "warning",
            (*path, "resources") if resources else path,
            f"container {name!r} has no resources {', '.join(absent)}",
            "Set requests (what the scheduler reserves) and limits (the cap) for cpu and memory.",
        )
    if sc.get("privileged") is True:
        yield RuleHit(
            "CK213",
            "error",
            (*path, "securityContext", "privileged"),
            f"container {name!r} is privileged",
            "Remove privileged: true; grant single capabilities only if really needed.",
        )
    yield from _root(path, name, sc, pod_sc)
    if sc.get("allowPrivilegeEscalation") is not False:
        yield RuleHit(
            "CK216",
            "warning",
            (*path, "securityContext"),
            f"container {name!r} does not set allowPrivilegeEscalation: false",
            "Set securityContext.allowPrivilegeEscalation: false.",
        )
    if sc.get("readOnlyRootFilesystem") is not True:
        yield RuleHit(
            "CK218",
            "info",
            (*path, "securityContext"),
            f"container {name!r} can write to its image filesystem",
            "Set readOnlyRootFilesystem: true and mount emptyDir volumes where the app writes (e.g. /tmp).",
        )


def _root(path: tuple[str | int, ...], name: object, sc: dict[str, Any], pod_sc: dict[str, Any]) -> Iterator[RuleHit]:
    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    if user == 0:
        where = (
            (*path, "securityContext", "runAsUser")
            if "runAsUser" in sc
            else (*path[:-2], "securityContext", "runAsUser")
        )
        yield RuleHit(
            "CK215",
            "error",
            where,
            f"container {name!r} runs as root (runAsUser: 0)",
            "Run as the image's non-root UID (runAsUser: <uid>, runAsNonRoot: true).",
        )
    elif non_root is not True and not (isinstance(user, int) and user > 0):
        yield RuleHit(
            "CK215",
            "warning",
            path,
            f"container {name!r} may run as root (no runAsNonRoot: true, no non-zero runAsUser)",
            "Set runAsNonRoot: true and runAsUser to the image's UID in the pod securityContext.",
        )
