"""Kubernetes objects for one service: pure, deterministic, every non-obvious field explained.

:func:`build` turns an :class:`AppSpec` (made from the analysis, the image and the Dockerfile's UID) into
:class:`Manifest` objects: ServiceAccount, ConfigMap (config-like env vars), Deployment, Service, Ingress,
HorizontalPodAutoscaler, PodDisruptionBudget and NetworkPolicy. Secret-like env vars become ``secretKeyRef``
references to ``<app>-secrets``; no Secret object, no value, is ever written.
"""

from __future__ import annotations

from typing import Any

from containerkit.k8s.spec import AppSpec, Manifest, config_name, selector
from containerkit.k8s.spec import meta as _meta
from containerkit.k8s.workload import deployment
from containerkit.k8s.yamlout import Path


def build(spec: AppSpec) -> list[Manifest]:
    """Every object for ``spec``, in apply order."""
    out = [_service_account(spec)]
    if spec.config_env:
        out.append(_config_map(spec))
    out.append(deployment(spec))
    if spec.port is not None:
        out.append(_service(spec))
        if spec.ingress_host and spec.serves_http:
            out.append(ingress(spec, spec.ingress_host))
    out.append(_hpa(spec))
    if spec.replicas > 1:
        out.append(_pdb(spec))
    out.append(_network_policy(spec))
    return out


def _service_account(spec: AppSpec) -> Manifest:
    obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(spec), "automountServiceAccountToken": False}
    return Manifest(
        "ServiceAccount",
        spec.name,
        obj,
        {
            (
                "automountServiceAccountToken",
            ): "The app does not call the Kubernetes API: no token is mounted into its pods",
        },
    )


def _config_map(spec: AppSpec) -> Manifest:
    """No value is guessed and none is set empty (an empty string overrides the app's own default, e.g. puma's thread
    count): ``data`` starts empty and lists the variables the code reads as comments to fill in."""
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(spec, config_name(spec)), "data": {}}
    listed = "\n".join(f"  {key}: <value>" for key in spec.config_env)
    comments: dict[Path, str] = {
        ("data",): "Config-like variables the code reads (found by the analysis). None is set here, so the\n"
        "app keeps its own defaults; add the ones you need (an empty string would override a default):\n" + listed
    }
    return Manifest("ConfigMap", config_name(spec), obj, comments)


def _service(spec: AppSpec) -> Manifest:
    obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(spec),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(spec),
            "ports": [{"name": spec.port_name, "port": spec.port, "targetPort": spec.port_name, "protocol": "TCP"}],
        },
    }
    return Manifest(
        "Service",
        spec.name,
        obj,
        {
            ("spec", "type"): "Reachable inside the cluster only; the Ingress (if any) exposes it outside",
            (
                "spec",
                "ports",
                0,
                "targetPort",
            ): "The container port by name: renumbering the container keeps the Service working",
        },
    )


def ingress(spec: AppSpec, host: object) -> Manifest:
    """The Ingress for ``host`` (a Raw template expression in Helm charts)."""
    obj = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(spec),
        "spec": {
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": spec.name, "port": {"name": spec.port_name}}},
                            }
                        ]
                    },
                }
            ]
        },
    }
    return Manifest(
        "Ingress",
        spec.name,
        obj,
        {
            ("spec",): (
                "No ingressClassName: the cluster's default IngressClass serves it (set one if the cluster has "
                "several).\nNo TLS section: add one with a certificate Secret (or cert-manager) before exposing it "
                "publicly."
            ),
        },
    )


def _hpa(spec: AppSpec) -> Manifest:
    obj = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(spec),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicas": spec.replicas,
            "maxReplicas": spec.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 75}},
                }
            ],
        },
    }
    return Manifest(
        "HorizontalPodAutoscaler",
        spec.name,
        obj,
        {
            (
                "spec",
                "minReplicas",
            ): "The autoscaler owns the replica count once applied; it never goes below the Deployment's replicas",
            (
                "spec",
                "metrics",
            ): "Utilization is relative to the container's CPU request (set in the Deployment); needs metrics-server",
        },
    )


def _pdb(spec: AppSpec) -> Manifest:
    obj = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(spec),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": selector(spec)}},
    }
    return Manifest(
        "PodDisruptionBudget",
        spec.name,
        obj,
        {
            ("spec", "minAvailable"): "Node drains and upgrades keep at least one pod serving",
        },
    )


def _network_policy(spec: AppSpec) -> Manifest:
    ingress_rules: list[dict[str, Any]] = []
    if spec.port is not None:
        ingress_rules = [{"ports": [{"protocol": "TCP", "port": spec.port}]}]
    obj = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(spec),
        "spec": {"podSelector": {"matchLabels": selector(spec)}, "policyTypes": ["Ingress"], "ingress": ingress_rules},
    }
    why = (
        f"Incoming traffic only to the app's port {spec.port} (from any pod or the ingress controller); everything "
        "else is dropped"
        if spec.port is not None
        else "The app listens on no port: all incoming traffic is dropped"
    )
    return Manifest(
        "NetworkPolicy",
        spec.name,
        obj,
        {
            ("spec", "ingress"): why,
            ("spec", "policyTypes"): "Egress is not restricted (the app may call databases and APIs)",
        },
    )
