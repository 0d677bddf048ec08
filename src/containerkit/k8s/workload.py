"""The Deployment: rolling updates, resources, probes, env, and a pod security context matching the Dockerfile."""

from __future__ import annotations

from typing import Any

from containerkit.k8s.runtime import volume_name
from containerkit.k8s.spec import AppSpec, Manifest, config_name, labels, meta, secret_name, selector
from containerkit.k8s.yamlout import Path

CONTAINER = "app"
_C: Path = ("spec", "template", "spec", "containers", 0)


def _probes(spec: AppSpec) -> tuple[dict[str, Any], dict[Path, str]]:
    if spec.port is None:
        return {}, {}
    ready: dict[str, Any]
    live: dict[str, Any]
    if spec.http_probes:
        live = {"httpGet": {"path": spec.health_path, "port": spec.port_name}}
        ready = {"httpGet": {"path": spec.readiness_path or spec.health_path, "port": spec.port_name}}
        how = f"HTTP GET {spec.health_path}"
        if spec.readiness_path and spec.readiness_path != spec.health_path:
            how = f"HTTP GET {spec.readiness_path} (startup, readiness) and {spec.health_path} (liveness)"
    else:
        ready = live = {"tcpSocket": {"port": spec.port_name}}
        how = (
            "a TCP connect"
            if not spec.serves_http
            else "a TCP connect (no health route detected; pass health_path for HTTP probes)"
        )
    startup_failures = 60 if spec.slow_start else 30
    probes = {
        "startupProbe": {**ready, "periodSeconds": 2, "failureThreshold": startup_failures},
        "readinessProbe": {**ready, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
        "livenessProbe": {**live, "periodSeconds": 20, "timeoutSeconds": 3, "failureThreshold": 3},
    }
    comments = {
        (*_C, "startupProbe"): f"Probes use {how}. The startup probe allows {2 * startup_failures}s to start;\n"
        "liveness and readiness checks begin only after it passes",
        (*_C, "readinessProbe"): "Not ready: taken out of the Service endpoints, not restarted",
        (*_C, "livenessProbe"): "Failing for 60s: the container is restarted",
    }
    return probes, comments


def _env(spec: AppSpec) -> tuple[list[dict[str, Any]], dict[Path, str]]:
    env: list[dict[str, Any]] = []
    comments: dict[Path, str] = {}
    if spec.reads_port_env and spec.port is not None:
        comments[(*_C, "env", len(env))] = "The app reads its port from PORT; keep it equal to containerPort"
        env.append({"name": "PORT", "value": str(spec.port)})
    for number, (key, value) in enumerate(spec.env):
        if number == 0:
            comments[(*_C, "env", len(env))] = "Values given to generate_manifests (env)"
        env.append({"name": key, "value": value})
    for key in spec.secret_env:
        if not comments.get((*_C, "env", len(env))) and key == spec.secret_env[0]:
            comments[(*_C, "env", len(env))] = (
                f"Secret-like variables come from the Secret {secret_name(spec)}, which you create\n"
                f"(kubectl create secret generic {secret_name(spec)} --from-literal=KEY=...);\n"
                "no value is ever written here. Pods wait until it exists (optional: false)"
            )
        env.append(
            {"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name(spec), "key": key, "optional": False}}}
        )
    return env, comments


#: below it a port is privileged: a non-root process cannot bind it unless the pod lowers the limit
PRIVILEGED_BELOW = 1024


def pod_security_context(spec: AppSpec) -> dict[str, Any]:
    uid = spec.user_uid
    context: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if spec.port is not None and spec.port < PRIVILEGED_BELOW:
        # NET_BIND_SERVICE would not help: a non-root process gets no effective capabilities (no ambient set) —
        # the namespaced, safe sysctl lets it bind the port (Docker sets the same for every container)
        context["sysctls"] = [{"name": "net.ipv4.ip_unprivileged_port_start", "value": str(spec.port)}]
    return context


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _container(spec: AppSpec) -> tuple[dict[str, Any], dict[Path, str]]:
    comments: dict[Path, str] = {
        (*_C, "imagePullPolicy"): "Pull only when the node lacks this tag: use a new tag per build, never a moving one",
        (
            *_C,
            "resources",
        ): "Requests reserve capacity (and drive the autoscaler); limits cap CPU and memory (OOMKilled beyond).\n"
        "Starting points for this runtime: adjust from observed usage",
        (*_C, "securityContext"): "No privilege escalation, no Linux capabilities, read-only image filesystem",
        (*_C, "volumeMounts"): "Writable scratch space on emptyDir: the root filesystem is read-only",
    }
    container: dict[str, Any] = {"name": CONTAINER, "image": spec.image, "imagePullPolicy": "IfNotPresent"}
    if spec.args:
        container["args"] = list(spec.args)
        comments[(*_C, "args")] = "The command line, in place of the image's CMD (its ENTRYPOINT, e.g. tini, stays)"
    if spec.port is not None:
        container["ports"] = [{"name": spec.port_name, "containerPort": spec.port, "protocol": "TCP"}]
    env, env_comments = _env(spec)
    comments.update(env_comments)
    if env:
        container["env"] = env
    if spec.config_env:
        container["envFrom"] = [{"configMapRef": {"name": config_name(spec)}}]
        comments[(*_C, "envFrom")] = f"Config-like variables from the ConfigMap {config_name(spec)}"
    container["resources"] = spec.resources.as_dict()
    probes, probe_comments = _probes(spec)
    container.update(probes)
    comments.update(probe_comments)
    if spec.port is None:
        comments[(*_C, "resources")] += "\nNo port: no network probes (the process exiting restarts the container)"
    container["securityContext"] = container_security_context()
    container["volumeMounts"] = [{"name": volume_name(p), "mountPath": p} for p in spec.writable_paths]
    return container, comments


def deployment(spec: AppSpec) -> Manifest:
    container, comments = _container(spec)
    pod: dict[str, Any] = {
        "serviceAccountName": spec.name,
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(spec),
        "terminationGracePeriodSeconds": 30,
        "containers": [container],
        "volumes": [{"name": volume_name(p), "emptyDir": {"sizeLimit": "256Mi"}} for p in spec.writable_paths],
    }
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(spec),
        "spec": {
            "replicas": spec.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector(spec)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": labels(spec)}, "spec": pod},
        },
    }
    pod_path = ("spec", "template", "spec")
    comments.update(
        {
            ("spec", "revisionHistoryLimit"): "Old ReplicaSets kept as rollback targets",
            ("spec", "selector"): "Name and instance only: the version label changes every release, a selector cannot",
            (
                "spec",
                "strategy",
                "rollingUpdate",
            ): "One extra pod during a rollout and none taken away before its replacement is ready",
            (
                *pod_path,
                "automountServiceAccountToken",
            ): "No Kubernetes API token in the pod (the ServiceAccount says the same)",
            (*pod_path, "securityContext"): f"The image's non-root user: the Dockerfile creates UID {spec.user_uid}",
            (*pod_path, "securityContext", "seccompProfile"): "The runtime's default syscall filter",
            (*pod_path, "terminationGracePeriodSeconds"): "Time between SIGTERM and SIGKILL for in-flight requests",
            (*pod_path, "volumes"): "Scratch space for the paths the runtime writes: " + ", ".join(spec.writable_paths),
        }
    )
    if "sysctls" in pod["securityContext"]:
        comments[(*pod_path, "securityContext", "sysctls")] = (
            f"The app binds port {spec.port}, a privileged port, as a non-root user: this namespaced (safe) sysctl\n"
            "lets it; NET_BIND_SERVICE would not, a non-root process has no effective capabilities"
        )
    return Manifest("Deployment", spec.name, obj, comments)
