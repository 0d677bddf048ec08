"""`prepare_cluster`: a local kind cluster wired to a local registry, and the image made pullable by it."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import Field

from containerkit.engine.service import Engine
from containerkit.k8s import cluster
from containerkit.k8s.client import connect
from containerkit.k8s.kubeconfig import load_target
from containerkit.registry.reference import parse_reference
from containerkit.registry.transfer import push
from containerkit.tools.base import ToolContext, ToolParams, ToolResult
from containerkit.tools.images import policy_of, resolver_of
from containerkit.tools.k8s_deploy import kube_environ
from containerkit.tools.registry import REGISTRY


class PrepareClusterParams(ToolParams):
    name: str = Field("containerkit", description="kind cluster name (context kind-<name>); reused when it exists.")
    registry_port: int | None = Field(None, ge=1, le=65535,
                                      description="Host port of the local registry container (default settings.k8s.kind_registry_port).")
    image: str | None = Field(None, description="A local image to make pullable by the cluster (pushed to the local registry, or loaded).")
    image_mode: Literal["push", "load"] = Field("push", description="push: through the local registry; load: `kind load docker-image`.")
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


@REGISTRY.tool(
    "prepare_cluster", effects=("creates_containers",), title="Prepare a local kind cluster", group="k8s", idempotent=True,
    description="Create (or reuse) a kind cluster wired to a local registry container as the kind docs describe (containerd certs.d "
    "hosts, the registry on the kind network, the local-registry-hosting ConfigMap), then push or load an image so the cluster can "
    "pull it. Without kind installed: TOOL_MISSING with how to install it.",
    params=PrepareClusterParams, result=PrepareClusterResult,
)
async def prepare_cluster(ctx: ToolContext, params: PrepareClusterParams) -> PrepareClusterResult:
    settings = ctx.settings.k8s
    registry = cluster.RegistrySpec(container=settings.kind_registry_container, port=params.registry_port or settings.kind_registry_port,
                                    image=settings.kind_registry_image)
    source = parse_reference(params.image) if params.image else None
    await ctx.report(0, None, f"preparing kind cluster {params.name}")
    state = await cluster.ensure_cluster(params.name, registry, node_image=params.node_image, timeout_s=params.timeout_s)
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
    ctx.put_state("cluster", {"name": params.name, "context": state.context, "registry": registry.cluster_address,
                              "kubeconfig": str(kubeconfig_file)})
    return PrepareClusterResult(cluster=params.name, context=state.context, created=state.created, nodes=state.nodes,
                                registry=registry.cluster_address, registry_container=registry.container,
                                kubeconfig=str(kubeconfig_file), image=pullable, actions=actions)


async def _push_to_local_registry(ctx: ToolContext, image: str, registry: cluster.RegistrySpec) -> str:
    """Tag ``image`` as localhost:<port>/<repository>:<tag> and push it there (the nodes resolve that name via certs.d)."""
    ref = parse_reference(image)
    repository = ref.repository.removeprefix("library/")
    target = parse_reference(f"{registry.cluster_address}/{repository}:{ref.tag or 'latest'}")
    engine = ctx.services.get(Engine, Engine.from_settings)
    await engine.tag(image, f"{target.registry}/{target.repository}", target.tag or "latest")
    policy = policy_of(ctx)
    local = replace(policy, insecure=(*policy.insecure, registry.cluster_address, f"127.0.0.1:{registry.port}"))
    await push(engine, resolver_of(ctx), target, None, local, ctx.report)
    return target.familiar
