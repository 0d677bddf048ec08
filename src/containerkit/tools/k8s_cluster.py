"""`prepare_cluster`: a local kind cluster wired to a local registry, and the image made pullable by it."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any, Literal, cast

from pydantic import Field

from containerkit.errors import JSONValue, KubernetesError
from containerkit.imageref import parse_reference
from containerkit.k8s import cluster
from containerkit.k8s.client import connect
from containerkit.k8s.kubeconfig import load_target
from containerkit.registry.credentials import Credentials
from containerkit.registry.transfer import push
from containerkit.tools.base import ToolContext, ToolParams, ToolResult
from containerkit.tools.images import policy_of, resolver_of
from containerkit.tools.k8s_deploy import kube_environ
from containerkit.tools.registry import REGISTRY
from containerkit.tools.state import ClusterState


class PrepareClusterParams(ToolParams):
    context: str | None = Field(
        None,
        description="Prepare this existing cluster (a kubeconfig context) instead of a kind "
        "cluster: the namespace, pull access to the registry, the nodes' architecture, an ingress controller.",
    )
    namespace: str | None = Field(
        None, description="Existing cluster: the namespace to create when missing (default settings.k8s.namespace)."
    )
    registry: str | None = Field(
        None,
        description="Existing cluster: the registry its pods pull from; when it needs credentials "
        "(from settings or the Docker config), a pull Secret is made and given to the namespace's default "
        "ServiceAccount.",
    )
    ingress: bool = Field(
        False, description="Existing cluster: an Ingress will be deployed, so check for an ingress controller."
    )
    name: str = Field("containerkit", description="kind cluster name (context kind-<name>); reused when it exists.")
    registry_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Host port of the local registry container (default settings.k8s.kind_registry_port).",
    )
    image: str | None = Field(
        None, description="A local image to make pullable by the cluster (pushed to the local registry, or loaded)."
    )
    image_mode: Literal["push", "load"] = Field(
        "push", description="push: through the local registry; load: `kind load docker-image`."
    )
    node_image: str | None = Field(None, description="kindest/node image (default: kind's own).")
    timeout_s: float = Field(600, gt=0, le=3600, description="Deadline for creating the cluster.")


class PrepareClusterResult(ToolResult):
    cluster: str
    context: str = Field(description="The kubeconfig context to deploy with (--context).")
    created: bool = Field(description="False when an existing cluster was reused.")
    nodes: list[str]
    registry: str = Field(description="Address images are pushed to and pulled from, e.g. localhost:5001.")
    registry_container: str
    kubeconfig: str = Field(description="The cluster's kubeconfig, saved in the session workspace.")
    image: str | None = Field(description="The reference the cluster pulls (use it in generate_manifests).")
    actions: list[str] = Field(description="What was done, in order.")
    namespace: str = Field("", description="Existing cluster: the namespace prepared.")
    warnings: list[str] = Field(
        default_factory=list, description="What to look at before deploying (no ingress controller, …)."
    )


@REGISTRY.tool(
    "prepare_cluster",
    effects=("creates_containers", "changes_cluster"),
    title="Prepare a cluster",
    group="k8s",
    idempotent=True,
    description="Create (or reuse) a kind cluster wired to a local registry container as the kind docs describe "
    "(containerd certs.d "
    "hosts, the registry on the kind network, the local-registry-hosting ConfigMap), then push or load an image so the "
    "cluster can "
    "pull it. Without kind installed: TOOL_MISSING with how to install it. With context: prepare that existing cluster "
    "instead "
    "(namespace, a pull Secret for a registry that needs credentials, the nodes' architecture against the image's, an "
    "ingress "
    "controller when one is needed).",
    params=PrepareClusterParams,
    result=PrepareClusterResult,
)
async def prepare_cluster(ctx: ToolContext, params: PrepareClusterParams) -> PrepareClusterResult:
    if params.context is not None:
        return await _prepare_existing(ctx, params, params.context)
    settings = ctx.settings.k8s
    registry = cluster.RegistrySpec(
        container=settings.kind_registry_container,
        port=params.registry_port or settings.kind_registry_port,
        image=settings.kind_registry_image,
    )
    source = parse_reference(params.image) if params.image else None
    await ctx.report(0, None, f"preparing kind cluster {params.name}")
    state = await cluster.ensure_cluster(
        params.name, registry, node_image=params.node_image, timeout_s=params.timeout_s
    )
    actions = list(state.actions)
    kubeconfig_file = ctx.workspace / f"kubeconfig-kind-{params.name}"
    await cluster.export_kubeconfig(params.name, kubeconfig_file)
    target = load_target(settings.model_copy(update={"kubeconfig": kubeconfig_file}), state.context, kube_environ(ctx))
    async with connect(target, field_manager=settings.field_manager, namespace="kube-public") as api:
        await api.apply(cluster.registry_hosting_configmap(registry), "kube-public", dry_run=False)
    actions.append("applied ConfigMap kube-public/local-registry-hosting")
    pullable: str | None = None
    if source is not None:
        await ctx.report(0.7, None, f"making {source.familiar} pullable by the cluster ({params.image_mode})")
        if params.image_mode == "load":
            await cluster.load_image(params.name, source.familiar)
            pullable = source.familiar
            actions.append(f"loaded {pullable} into the nodes")
        else:
            pullable = await _push_to_local_registry(ctx, source.familiar, registry)
            actions.append(f"pushed {pullable}")
    await ctx.report(1, 1, f"cluster {params.name} ready (context {state.context})")
    ctx.put_state(
        "cluster",
        ClusterState(
            name=params.name, context=state.context, registry=registry.cluster_address, kubeconfig=str(kubeconfig_file)
        ),
    )
    return PrepareClusterResult(
        cluster=params.name,
        context=state.context,
        created=state.created,
        nodes=state.nodes,
        registry=registry.cluster_address,
        registry_container=registry.container,
        kubeconfig=str(kubeconfig_file),
        image=pullable,
        actions=actions,
    )


async def _push_to_local_registry(ctx: ToolContext, image: str, registry: cluster.RegistrySpec) -> str:
    """Tag ``image`` as localhost:<port>/<repository>:<tag> and push it there (the nodes resolve that name via
    certs.d)."""
    ref = parse_reference(image)
    repository = ref.repository.removeprefix("library/")
    target = parse_reference(f"{registry.cluster_address}/{repository}:{ref.tag or 'latest'}")
    engine = await ctx.engine_for(image)
    await engine.tag(image, f"{target.registry}/{target.repository}", target.tag or "latest")
    policy = policy_of(ctx)
    local = replace(policy, insecure=(*policy.insecure, registry.cluster_address, f"127.0.0.1:{registry.port}"))
    await push(engine, resolver_of(ctx), target, None, local, ctx.report)
    return target.familiar


#: the name of the pull Secret prepare_cluster makes for a registry that needs credentials
PULL_SECRET = "containerkit-pull"  # noqa: S105 - the Secret's name, not a password


async def _prepare_existing(ctx: ToolContext, params: PrepareClusterParams, context: str) -> PrepareClusterResult:
    """An existing cluster: the namespace, pull access, the nodes' architecture against the image's, an ingress
    class."""
    settings = ctx.settings.k8s
    target = load_target(settings, context, kube_environ(ctx))
    namespace = params.namespace or settings.namespace
    actions: list[str] = []
    warnings: list[str] = []
    image_arch = None
    if params.image:
        info = await (await ctx.engine_for(params.image)).inspect(params.image)
        image_arch = info.architecture or None
    await ctx.report(0, None, f"preparing {target.context}/{namespace}")
    async with connect(target, field_manager=settings.field_manager, namespace=namespace) as api:
        nodes = await api.list("v1", "Node", None)
        node_arches = sorted(
            {str(((n.get("status") or {}).get("nodeInfo") or {}).get("architecture", "")) for n in nodes} - {""}
        )
        if image_arch and node_arches and image_arch not in node_arches:
            raise KubernetesError(
                f"image {params.image} is built for {image_arch}, the nodes of {target.context} run "
                f"{', '.join(node_arches)}",
                code="IMAGE_ARCH_MISMATCH",
                hint=f"Build for the nodes' platform ({{tool:build_image}} with platform linux/{node_arches[0]}), or "
                "deploy to "
                "nodes of the image's architecture.",
                details={"image_architecture": image_arch, "node_architectures": cast(JSONValue, node_arches)},
            )
        if await api.get("v1", "Namespace", namespace, None) is None:
            await api.create_namespace(namespace, dry_run=False)
            actions.append(f"created namespace {namespace}")
        else:
            actions.append(f"namespace {namespace} exists")
        if params.registry:
            host = parse_reference(f"{params.registry.rstrip('/')}/x").registry
            credentials = await resolver_of(ctx).resolve(host)
            if credentials is None:
                actions.append(f"registry {host}: no credentials known, pods pull anonymously")
            else:
                await api.apply(_pull_secret(host, credentials, namespace), namespace, dry_run=False)
                await api.apply(
                    {
                        "apiVersion": "v1",
                        "kind": "ServiceAccount",
                        "metadata": {"name": "default", "namespace": namespace},
                        "imagePullSecrets": [{"name": PULL_SECRET}],
                    },
                    namespace,
                    dry_run=False,
                )
                actions.append(
                    f"pull Secret {PULL_SECRET} for {host} ({credentials.source}), used by ServiceAccount default"
                )
        if params.ingress:
            classes = await api.list("networking.k8s.io/v1", "IngressClass", None)
            if classes:
                actions.append(f"ingress classes: {', '.join(sorted(c['metadata']['name'] for c in classes))}")
            else:
                warnings.append(
                    f"{target.context} has no IngressClass: an Ingress will not be served until an ingress controller "
                    "(ingress-nginx, Traefik, …) is installed; reach the app through its Service meanwhile"
                )
    await ctx.report(1, 1, f"{target.context}/{namespace} prepared")
    ctx.put_state("cluster", ClusterState(context=target.context, namespace=namespace, kubeconfig=str(target.path)))
    return PrepareClusterResult(
        cluster=target.context,
        context=target.context,
        created=False,
        nodes=sorted(str(n["metadata"]["name"]) for n in nodes),
        registry=params.registry or "",
        registry_container="",
        kubeconfig=str(target.path),
        image=params.image,
        actions=actions,
        namespace=namespace,
        warnings=warnings,
    )


def _pull_secret(host: str, credentials: Credentials, namespace: str) -> dict[str, Any]:
    """A kubernetes.io/dockerconfigjson Secret for ``host`` (the value is the Docker config's auths entry)."""
    password = credentials.password.get_secret_value()
    auth = base64.b64encode(f"{credentials.username}:{password}".encode()).decode()
    config = {"auths": {host: {"username": credentials.username, "password": password, "auth": auth}}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {
            "name": PULL_SECRET,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "containerkit"},
        },
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
    }
