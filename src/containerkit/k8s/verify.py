"""Health of an existing Deployment plus an HTTP probe of its Service through the API server proxy.

The probe is ``GET /api/v1/namespaces/{ns}/services/{service}:{port}/proxy{path}``: it needs no port-forward and
no route into the cluster network. The path and port default to the first container's readinessProbe ``httpGet``;
the port is mapped to the Service port whose ``targetPort`` matches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from containerkit.errors import RolloutFailedError
from containerkit.k8s.client import KubeApi, Obj
from containerkit.k8s.diagnose import Diagnostics, diagnose
from containerkit.k8s.rollout import RolloutPolicy, RolloutStatus, current_pods, failure, get_deployment, status_of

BODY_EXCERPT = 500


class ProbeResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    port: str = Field(description="Service port (name or number) used in the proxy path.")
    path: str
    proxy_path: str = Field(description="The API server path that was requested.")
    status_code: int
    ok: bool = Field(description="2xx or 3xx.")
    body_excerpt: str


@dataclass(frozen=True)
class ProbeTarget:
    service: str
    port: str
    path: str


def _readiness_http(dep: Obj) -> tuple[str | None, Any]:
    for container in ((dep.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []:
        http = ((container.get("readinessProbe") or {}).get("httpGet")) or {}
        if http:
            return http.get("path"), http.get("port")
    return None, None


def _container_port_names(dep: Obj) -> dict[str, int]:
    out: dict[str, int] = {}
    for container in ((dep.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name"):
                out[str(port["name"])] = int(port.get("containerPort") or 0)
    return out


def _matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


async def find_service(api: KubeApi, dep: Obj) -> Obj | None:
    """The Service named like the Deployment, else one whose selector picks the Deployment's pods."""
    name, namespace = dep["metadata"]["name"], dep["metadata"]["namespace"]
    same = await api.get("v1", "Service", name, namespace)
    if same is not None:
        return same
    labels = ((dep.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    for svc in await api.list("v1", "Service", namespace):
        if _matches((svc.get("spec") or {}).get("selector") or {}, labels):
            return svc
    return None


def probe_target(dep: Obj, svc: Obj, path: str | None, port: int | None) -> ProbeTarget:
    """Which service port and path to probe (explicit values first, then the readinessProbe, then the first port)."""
    ready_path, ready_port = _readiness_http(dep)
    ports = (svc.get("spec") or {}).get("ports") or []
    names = _container_port_names(dep)
    chosen: Obj | None = None
    if port is not None:
        chosen = next((p for p in ports if p.get("port") == port), None)
        chosen = chosen or next((p for p in ports if _target_number(p, names) == port), None)
        if chosen is None:
            return ProbeTarget(svc["metadata"]["name"], str(port), path or ready_path or "/")
    elif ready_port is not None:
        number = names.get(ready_port) if isinstance(ready_port, str) else ready_port
        chosen = next(
            (p for p in ports if p.get("targetPort") == ready_port or _target_number(p, names) == number), None
        )
    chosen = chosen or (ports[0] if ports else None)
    port_ref = str(chosen.get("name") or chosen.get("port")) if chosen else str(port or 80)
    return ProbeTarget(svc["metadata"]["name"], port_ref, path or ready_path or "/")


def _target_number(service_port: Obj, names: dict[str, int]) -> int | None:
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, str):
        return names.get(target) if not target.isdigit() else int(target)
    return int(target) if target is not None else None


async def probe(api: KubeApi, namespace: str, target: ProbeTarget) -> ProbeResult:
    path = target.path if target.path.startswith("/") else "/" + target.path
    answer = await api.proxy_get(namespace, target.service, target.port, path)
    return ProbeResult(
        service=target.service,
        port=target.port,
        path=path,
        proxy_path=f"/api/v1/namespaces/{namespace}/services/{target.service}:{target.port}/proxy{path}",
        status_code=answer.status_code,
        ok=200 <= answer.status_code < 400,
        body_excerpt=answer.body[:BODY_EXCERPT],
    )


@dataclass(frozen=True)
class Verification:
    status: RolloutStatus
    probe: ProbeResult | None
    probe_skipped: str


async def verify(
    api: KubeApi,
    name: str,
    namespace: str,
    *,
    path: str | None,
    port: int | None,
    probe_http: bool,
    policy: RolloutPolicy,
) -> Verification:
    """Check the Deployment is fully rolled out and its pods are healthy, then probe the Service.

    Raises:
        NotFoundError: no such Deployment.
        ImagePullFailedError / RolloutFailedError: not ready or unhealthy (diagnostics in details), or the probe
            answered with an error status (``details["probe"]``).
    """
    dep = await get_deployment(api, name, namespace)
    status = status_of(dep)
    # the current revision's pods: those of an earlier one that are still going away are no health problem
    diagnostics: Diagnostics = await diagnose(
        api, dep, tail_lines=policy.log_tail_lines, pods=await current_pods(api, dep)
    )
    if not status.complete or diagnostics.reasons:
        raise failure(f"deployment {name} is not healthy ({status.message})", diagnostics, status)
    if not probe_http:
        return Verification(status, None, "probe disabled")
    svc = await find_service(api, dep)
    if svc is None:
        return Verification(status, None, f"no Service selects the pods of {name}")
    result = await probe(api, namespace, probe_target(dep, svc, path, port))
    if not result.ok:
        raise RolloutFailedError(
            f"the service {result.service} answered HTTP {result.status_code} on {result.path}",
            hint="The pods are ready but the app answers with an error: read the body excerpt and "
            "the logs (`kubectl logs deploy/NAME`).",
            details={
                "diagnostics": diagnostics.model_dump(mode="json"),
                "probe": result.model_dump(mode="json"),
                "rollout": status.model_dump(mode="json"),
            },
        )
    return Verification(status, result, "")
