"""A local kind cluster wired to a local registry — the setup documented at kind.sigs.k8s.io/docs/user/local-registry.

1. a registry container (``kind-registry``, ``registry:2``) published on ``127.0.0.1:<port>``;
2. a kind cluster whose containerd reads ``/etc/containerd/certs.d`` (created, or reused when it exists);
3. on every node, ``certs.d/localhost:<port>/hosts.toml`` pointing at ``http://kind-registry:5000``;
4. the registry container joined to the ``kind`` network;
5. the ``local-registry-hosting`` ConfigMap in ``kube-public`` (KEP-1755), applied by the caller.

Everything goes through the real ``kind`` and ``docker`` programs (argv lists via ``_proc``); a missing ``kind`` is a
clear ``TOOL_MISSING`` error with how to install it, never a pretend cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from containerkit import _proc
from containerkit.errors import CommandFailedError, InvalidInputError, KubernetesError, ToolMissingError

KIND_INSTALL_HINT = (
    "Install kind (it needs a Docker engine): `go install sigs.k8s.io/kind@v0.24.0`, or download the release binary "
    "for your "
    "platform from https://kind.sigs.k8s.io/docs/user/quick-start/#installation to /usr/local/bin/kind and `chmod +x` "
    "it; "
    "then run {tool:prepare_cluster} again."
)
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$")
CONTAINER_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class RegistrySpec:
    container: str
    port: int
    image: str

    @property
    def cluster_address(self) -> str:
        """What images are tagged with so that both the host and the nodes pull them: ``localhost:<port>``."""
        return f"localhost:{self.port}"


@dataclass(frozen=True)
class ClusterState:
    name: str
    created: bool
    nodes: list[str]
    registry_created: bool
    registry_joined_network: bool
    """The registry container was connected to the kind network by this call."""
    actions: list[str]

    @property
    def context(self) -> str:
        return f"kind-{self.name}"


def check_names(name: str, registry: RegistrySpec) -> None:
    """Raises InvalidInputError for a cluster or container name kind/docker would refuse (or that starts with '-')."""
    if not NAME_RE.match(name):
        raise InvalidInputError(
            f"cluster name {name!r} is not valid", hint="Use lowercase letters, digits and '-' (at most 50)."
        )
    if not CONTAINER_RE.match(registry.container):
        raise InvalidInputError(
            f"registry container name {registry.container!r} is not valid", hint="Use letters, digits, '_', '.', '-'."
        )
    if registry.image.startswith("-") or not registry.image.strip():
        raise InvalidInputError(
            f"registry image {registry.image!r} is not valid", hint="Use an image reference such as registry:2."
        )


def kind_program() -> str:
    """Raises ToolMissingError with the install instructions when kind is not on PATH."""
    found = _proc.which("kind")
    if found is None:
        raise ToolMissingError("kind is not installed, so no local cluster can be created", hint=KIND_INSTALL_HINT)
    return found


def kind_config() -> str:
    """The cluster config: containerd takes registry hosts from /etc/containerd/certs.d (the documented patch)."""
    return (
        "kind: Cluster\n"
        "apiVersion: kind.x-k8s.io/v1alpha4\n"
        "containerdConfigPatches:\n"
        "- |-\n"
        '  [plugins."io.containerd.grpc.v1.cri".registry]\n'
        '    config_path = "/etc/containerd/certs.d"\n'
    )


def hosts_toml(registry: RegistrySpec) -> str:
    return f'[host."http://{registry.container}:5000"]\n'


def registry_hosting_configmap(registry: RegistrySpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
        "data": {
            "localRegistryHosting.v1": f'host: "{registry.cluster_address}"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n'
        },
    }


async def _kind(*args: str, stdin: bytes | None = None, timeout: float = 120) -> _proc.ProcResult:
    try:
        return await _proc.run([kind_program(), *args], stdin=stdin, timeout=timeout)
    except CommandFailedError as e:
        raise KubernetesError(
            f"kind {' '.join(args[:2])} failed: {e.details.get('tail', '')}".strip(),
            code="KIND_FAILED",
            hint="Read kind's output in the message; `kind delete cluster --name NAME` resets a broken cluster.",
            details=e.details,
        ) from e


async def _docker(*args: str, stdin: bytes | None = None, check: bool = True, timeout: float = 120) -> _proc.ProcResult:
    try:
        return await _proc.run(["docker", *args], stdin=stdin, check=check, timeout=timeout)
    except ToolMissingError as e:
        raise ToolMissingError(
            "the docker CLI is not installed (kind and the registry container need it)",
            hint="Install Docker (on Debian: apt-get install docker.io) and start the engine.",
        ) from e
    except CommandFailedError as e:
        raise KubernetesError(
            f"docker {args[0]} failed: {e.details.get('tail', '')}".strip(),
            code="ENGINE_ERROR",
            hint="Check the engine (`docker info`) and the message.",
            details=e.details,
        ) from e


async def clusters() -> list[str]:
    out = await _kind("get", "clusters")
    return [
        line.strip() for line in out.stdout.splitlines() if line.strip() and not line.startswith("No kind clusters")
    ]


async def ensure_registry(registry: RegistrySpec) -> bool:
    """Start the registry container unless it runs already; True when it was created or started."""
    state = await _docker("inspect", "-f", "{{.State.Running}}", registry.container, check=False)
    if state.returncode == 0 and state.stdout.strip() == "true":
        return False
    if state.returncode == 0:
        await _docker("start", registry.container)
        return True
    await _docker(
        "run",
        "-d",
        "--restart=always",
        "-p",
        f"127.0.0.1:{registry.port}:5000",
        "--network",
        "bridge",
        "--name",
        registry.container,
        registry.image,
        timeout=600,
    )
    return True


async def ensure_cluster(
    name: str, registry: RegistrySpec, *, node_image: str | None = None, timeout_s: float = 600
) -> ClusterState:
    """Create (or reuse) the cluster and wire every node and the registry as the kind docs describe."""
    check_names(name, registry)
    kind_program()
    actions: list[str] = []
    registry_created = await ensure_registry(registry)
    actions.append(
        f"registry container {registry.container} {'started' if registry_created else 'already running'} on "
        f"127.0.0.1:{registry.port}"
    )
    existing = await clusters()
    created = name not in existing
    if created:
        args = ["create", "cluster", "--name", name, "--config", "-", "--wait", f"{int(timeout_s)}s"]
        if node_image:
            if node_image.startswith("-"):
                raise InvalidInputError(f"node image {node_image!r} starts with '-'")
            args += ["--image", node_image]
        await _kind(*args, stdin=kind_config().encode(), timeout=timeout_s + 60)
        actions.append(f"created kind cluster {name}")
    else:
        actions.append(f"reused kind cluster {name}")
    nodes = [n.strip() for n in (await _kind("get", "nodes", "--name", name)).stdout.splitlines() if n.strip()]
    directory = f"/etc/containerd/certs.d/{registry.cluster_address}"
    for node in nodes:
        await _docker("exec", node, "mkdir", "-p", directory)
        await _docker(
            "exec", "-i", node, "cp", "/dev/stdin", f"{directory}/hosts.toml", stdin=hosts_toml(registry).encode()
        )
    actions.append(f"wrote {directory}/hosts.toml on {len(nodes)} node(s)")
    networks = await _docker("inspect", "-f", "{{json .NetworkSettings.Networks.kind}}", registry.container)
    joined = networks.stdout.strip() in ("", "null")
    if joined:
        await _docker("network", "connect", "kind", registry.container)
        actions.append(f"connected {registry.container} to the kind network")
    return ClusterState(
        name=name,
        created=created,
        nodes=nodes,
        registry_created=registry_created,
        registry_joined_network=joined,
        actions=actions,
    )


async def export_kubeconfig(name: str, path: Path) -> None:
    """Have kind write the cluster's kubeconfig to ``path`` (its credentials never pass through our output or logs)."""
    await _kind("export", "kubeconfig", "--name", name, "--kubeconfig", str(path))
    await anyio.Path(path).chmod(0o600)


async def load_image(name: str, image: str) -> None:
    """Copy a local image into every node (``kind load docker-image``): for clusters without a registry."""
    if image.startswith("-"):
        raise InvalidInputError(f"image {image!r} starts with '-'")
    await _kind("load", "docker-image", image, "--name", name, timeout=900)
