"""`deploy_application` and `verify_deployment`: apply manifests to a cluster, wait for the rollout, verify (logic in
containerkit.k8s)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import Field

from containerkit import metrics
from containerkit.engine.endpoint import current_environ
from containerkit.errors import PolicyViolationError
from containerkit.k8s.apply import AppliedObject
from containerkit.k8s.client import connect
from containerkit.k8s.deploy import DeployRequest, deploy
from containerkit.k8s.kubeconfig import KubeTarget, load_target
from containerkit.k8s.load import load_manifests
from containerkit.k8s.rollout import RolloutPolicy, RolloutStatus
from containerkit.k8s.verify import ProbeResult, verify
from containerkit.tools.base import ToolContext, ToolParams, ToolResult
from containerkit.tools.registry import REGISTRY


@dataclass(frozen=True)
class KubeEnviron:
    """The environment the kubeconfig is looked up in ($KUBECONFIG, $HOME); tests provide their own."""

    environ: dict[str, str] = field(default_factory=dict)


def kube_environ(ctx: ToolContext) -> dict[str, str]:
    return ctx.services.get(KubeEnviron, lambda s: KubeEnviron(current_environ())).environ


def _target(ctx: ToolContext, context: str | None) -> KubeTarget:
    return load_target(ctx.settings.k8s, context, kube_environ(ctx))


#: words that mark a context or namespace as production (compared with the name's words, in lower case)
PRODUCTION_WORDS = frozenset({"prod", "production", "prd", "live"})


def looks_like_production(context: str, namespace: str) -> str | None:
    """``context X`` / ``namespace Y`` when a word of its name marks production, else None."""
    for what, name in (("context", context), ("namespace", namespace)):
        if PRODUCTION_WORDS & set(re.split(r"[^a-z0-9]+", name.lower())):
            return f"{what} {name}"
    return None


def _policy(ctx: ToolContext) -> RolloutPolicy:
    return ctx.services.get(RolloutPolicy, lambda s: RolloutPolicy())


class ClusterParams(ToolParams):
    namespace: str | None = Field(None, description="Target namespace (default settings.k8s.namespace).")
    context: str | None = Field(
        None, description="kubeconfig context (default settings.k8s.context, then current-context)."
    )


class DeployParams(ClusterParams):
    path: str = Field(description="Directory (or file) of rendered manifests, e.g. the out_dir of generate_manifests.")
    dry_run: bool = Field(
        False, description="Server-side dry run (dryRun=All): validated and defaulted by the server, nothing stored."
    )
    diff: bool = Field(
        False, description="Return a unified YAML diff of what would change (live vs the server's dry-run result)."
    )
    timeout_s: float | None = Field(
        None, gt=0, description="Rollout deadline (default settings.k8s.rollout_timeout_s)."
    )
    no_rollback: bool = Field(
        False, description="Leave a failed rollout as it is instead of rolling back to the previous revision."
    )
    create_namespace: bool = Field(False, description="Create the target namespace when it does not exist.")
    wait: bool = Field(True, description="Wait for the Deployments' rollouts.")
    force_conflicts: bool = Field(
        False,
        description="Take over fields another field manager set (kubectl scale, an "
        "operator): without it they are a CONFLICT naming the fields and managers.",
    )
    allow_production: bool = Field(
        False,
        description="Deploy even though the context or namespace looks like production "
        "(a name with prod, production, prd or live); without it the user is asked, if the client can.",
    )


class DeployResult(ToolResult):
    context: str
    server: str
    server_version: str
    namespace: str
    dry_run: bool
    applied: list[AppliedObject] = Field(description="In apply order.")
    diff: str = Field(description="Unified diff (with diff=true); empty otherwise or when nothing changes.")
    rollouts: list[RolloutStatus] = Field(description="One per Deployment applied (empty for a dry run or wait=false).")
    duration_s: float

    def record_metrics(self, tool: str) -> None:
        for _ in self.rollouts:
            metrics.rollout("succeeded", self.duration_s)


@REGISTRY.tool(
    "deploy_application",
    effects=("changes_cluster",),
    title="Deploy to Kubernetes",
    group="k8s",
    params=DeployParams,
    result=DeployResult,
    idempotent=True,
    store_result=True,
    description="Apply manifests with server-side apply (field manager from settings; fields another manager set are a "
    "conflict unless force_conflicts) in a safe order (CRDs and Namespaces first, workloads after what they "
    "reference), "
    "then wait for each Deployment's rollout. On failure "
    "the error carries diagnostics (pod states, events, log tails) and the Deployment is rolled back to its previous "
    "revision unless no_rollback. dry_run uses the server's dry run; diff shows what would change.",
)
async def deploy_application(ctx: ToolContext, params: DeployParams) -> DeployResult:
    root = ctx.resolve_path(params.path)
    objects = load_manifests(root)
    target = _target(ctx, params.context)
    namespace = params.namespace or ctx.settings.k8s.namespace
    production = looks_like_production(target.context, namespace)
    if production and not params.dry_run and not params.allow_production:
        question = (
            f"Deploy {len(objects)} objects to {production}, which looks like production, from {root}? "
            "This changes what runs there."
        )
        if not await ctx.decide("allow_production", question):
            raise PolicyViolationError(
                f"refusing to deploy to {production}: it looks like production and allow_production was not given",
                hint="Check the target ({param:context}, {param:namespace}); to deploy there, pass "
                "{param:allow_production}; "
                "{param:dry_run} shows what would change without changing it.",
                details={"context": target.context, "namespace": namespace},
            )
    settings = ctx.settings.k8s
    request = DeployRequest(
        objects=objects,
        namespace=namespace,
        dry_run=params.dry_run,
        diff=params.diff,
        timeout_s=params.timeout_s or settings.rollout_timeout_s,
        rollback=not params.no_rollback,
        create_namespace=params.create_namespace,
        wait=params.wait,
        force_conflicts=params.force_conflicts,
    )
    await ctx.report(0, None, f"applying {len(objects)} objects to {target.context}/{namespace}")
    async with connect(target, field_manager=settings.field_manager, namespace=namespace) as api:
        version = await api.server_version()
        outcome = await deploy(api, request, _policy(ctx), ctx.report)
    await ctx.report(
        1, 1, f"applied {len(outcome.applied)} objects" + ("" if params.dry_run else ", rollouts complete")
    )
    return DeployResult(
        context=target.context,
        server=target.server,
        server_version=version,
        namespace=namespace,
        dry_run=params.dry_run,
        applied=outcome.applied,
        diff=outcome.diff,
        rollouts=outcome.rollouts,
        duration_s=round(outcome.duration_s, 3),
    )


class VerifyParams(ClusterParams):
    name: str = Field(min_length=1, description="The Deployment's name.")
    path: str | None = Field(
        None, description="HTTP path to probe (default the readinessProbe's httpGet path, else /)."
    )
    port: int | None = Field(
        None, ge=1, le=65535, description="Service (or target) port to probe (default from the readinessProbe)."
    )
    probe: bool = Field(True, description="Probe the Service over HTTP through the API server proxy.")


class VerifyResult(ToolResult):
    context: str
    namespace: str
    name: str
    rollout: RolloutStatus
    probe: ProbeResult | None = Field(description="The HTTP probe (status code and body excerpt); null when skipped.")
    probe_skipped: str = Field(description="Why there was no probe (no Service, probe=false); empty when probed.")


@REGISTRY.tool(
    "verify_deployment",
    effects=("reads_cluster",),
    title="Verify a deployment",
    group="k8s",
    params=VerifyParams,
    result=VerifyResult,
    idempotent=True,
    store_result=True,
    description="Check an existing Deployment: rollout complete, replicas ready, no pod backing off (diagnostics "
    "otherwise, "
    "ROLLOUT_FAILED / IMAGE_PULL_FAILED), then GET its Service through the API server proxy on the readinessProbe's "
    "path "
    "and port (or the ones given).",
)
async def verify_deployment(ctx: ToolContext, params: VerifyParams) -> VerifyResult:
    target = _target(ctx, params.context)
    namespace = params.namespace or ctx.settings.k8s.namespace
    async with connect(target, field_manager=ctx.settings.k8s.field_manager, namespace=namespace) as api:
        checked = await verify(
            api,
            params.name,
            namespace,
            path=params.path,
            port=params.port,
            probe_http=params.probe,
            policy=_policy(ctx),
        )
    return VerifyResult(
        context=target.context,
        namespace=namespace,
        name=params.name,
        rollout=checked.status,
        probe=checked.probe,
        probe_skipped=checked.probe_skipped,
    )
