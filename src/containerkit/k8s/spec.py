"""The input of manifest generation (:class:`AppSpec`), the output unit (:class:`Manifest`) and naming/labels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from containerkit.k8s.yamlout import Path

MANAGED_BY = "containerkit"
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")


def dns1123(value: str, max_len: int = 50) -> str:
    """A DNS-1123 label from any text ('' when nothing usable is left)."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", value.lower())
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip("-")
    return cleaned[:max_len].rstrip("-")


def label_value(value: str | None) -> str | None:
    """``value`` when it is a valid label value, else a cleaned copy (None when nothing is left)."""
    if value is None:
        return None
    if _LABEL_VALUE.match(value):
        return value
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)[:63].strip("-_.")
    return cleaned or None


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


#: Starting points by runtime; JVMs size their heap from the limit (MaxRAMPercentage=75 in the Dockerfile).
RESOURCES: dict[str, Resources] = {
    "java": Resources("250m", "512Mi", "1", "1Gi"),
    "dotnet": Resources("100m", "256Mi", "500m", "512Mi"),
    "go": Resources("50m", "64Mi", "500m", "256Mi"),
    "rust": Resources("50m", "64Mi", "500m", "256Mi"),
    "static": Resources("25m", "32Mi", "200m", "128Mi"),
}
DEFAULT_RESOURCES = Resources("100m", "128Mi", "500m", "512Mi")


@dataclass(frozen=True)
class AppSpec:
    name: str
    namespace: str
    image: str
    version: str | None
    """The image tag (the app.kubernetes.io/version label); None for digest-only references."""
    user_uid: int
    port: int | None = None
    serves_http: bool = True
    health_path: str | None = None
    readiness_path: str | None = None
    """The readiness and startup probes' route when it differs from health_path (which liveness keeps): a route that
    also checks what the app depends on, whose failure should take a pod out of the Service, not restart it."""
    reads_port_env: bool = False
    config_env: tuple[str, ...] = ()
    secret_env: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    """Known values, set in the Deployment as they are (never a secret: those are secret_env)."""
    args: tuple[str, ...] = ()
    """The container's args (replacing the image's CMD, keeping its ENTRYPOINT); empty: the image's CMD."""
    writable_paths: tuple[str, ...] = ("/tmp",)  # noqa: S108 - a mount path inside the container
    replicas: int = 2
    ingress_host: str | None = None
    resources: Resources = DEFAULT_RESOURCES
    slow_start: bool = False
    """JVM-style startup: a longer startup probe budget."""
    description: str = ""

    @property
    def max_replicas(self) -> int:
        return max(self.replicas * 3, 3)

    @property
    def http_probes(self) -> bool:
        return self.port is not None and self.serves_http and self.health_path is not None

    @property
    def port_name(self) -> str:
        return "http" if self.serves_http else "tcp"


@dataclass
class Manifest:
    kind: str
    name: str
    obj: dict[str, Any]
    comments: dict[Path, str] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"{self.kind.lower()}.yaml"


def labels(spec: AppSpec) -> dict[str, str]:
    out = {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/instance": spec.name}
    version = label_value(spec.version)
    if version:
        out["app.kubernetes.io/version"] = version
    out["app.kubernetes.io/managed-by"] = MANAGED_BY
    return out


def selector(spec: AppSpec) -> dict[str, str]:
    """Stable across releases: no version label (a Deployment's selector cannot change)."""
    return {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/instance": spec.name}


def meta(spec: AppSpec, name: str | None = None) -> dict[str, Any]:
    return {"name": name or spec.name, "namespace": spec.namespace, "labels": labels(spec)}


def secret_name(spec: AppSpec) -> str:
    return f"{spec.name}-secrets"


def config_name(spec: AppSpec) -> str:
    return f"{spec.name}-config"
