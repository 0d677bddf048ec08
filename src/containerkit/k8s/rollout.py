"""Wait for a Deployment's rollout with a deadline; roll back to the previous revision the way ``kubectl rollout undo``
does.

Complete means what ``kubectl rollout status`` checks: ``status.observedGeneration >= metadata.generation``, the
Progressing condition not ``ProgressDeadlineExceeded``, and updated, ready and available replicas all equal to
``spec.replicas`` with no old replicas left. It fails early when a pod is in a back-off state
(:data:`~containerkit.k8s.diagnose.BACKOFF_REASONS`): the kubelet has retried already.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import anyio
from pydantic import BaseModel, ConfigDict, Field

from containerkit.errors import ImagePullFailedError, NotFoundError, RolloutDetails, RolloutFailedError
from containerkit.k8s.client import KubeApi, Obj
from containerkit.k8s.diagnose import (
    BACKOFF_REASONS,
    IMAGE_PULL_REASONS,
    Diagnostics,
    diagnose,
    pod_reasons,
    selector_labels,
)

REVISION = "deployment.kubernetes.io/revision"
Sleep = Callable[[float], Awaitable[None]]
ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]


@dataclass(frozen=True)
class RolloutPolicy:
    """How rollouts are watched (tests provide one with a short poll interval)."""

    poll_interval_s: float = 1.0
    log_tail_lines: int = 30
    sleep: Sleep = anyio.sleep


class RolloutStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    namespace: str
    revision: int | None = Field(description="deployment.kubernetes.io/revision after the rollout.")
    replicas: int = Field(description="spec.replicas")
    updated_replicas: int
    ready_replicas: int
    available_replicas: int
    generation: int
    observed_generation: int
    complete: bool
    message: str


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def revision_of(obj: Obj) -> int | None:
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION)
    return _int(raw) if raw is not None else None


def status_of(dep: Obj) -> RolloutStatus:
    meta, spec, status = dep.get("metadata") or {}, dep.get("spec") or {}, dep.get("status") or {}
    want = _int(spec.get("replicas", 1))
    generation, observed = _int(meta.get("generation")), _int(status.get("observedGeneration"))
    updated, ready = _int(status.get("updatedReplicas")), _int(status.get("readyReplicas"))
    available, total = _int(status.get("availableReplicas")), _int(status.get("replicas"))
    progressing: Obj = next((c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), {})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        message, complete = f"progress deadline exceeded: {progressing.get('message', '')}", False
    elif observed < generation:
        message, complete = f"waiting for the controller to observe generation {generation}", False
    elif updated < want:
        message, complete = f"{updated} of {want} replicas updated", False
    elif total > updated:
        message, complete = f"{total - updated} old replicas pending termination", False
    elif available < updated or ready < want:
        message, complete = f"{min(available, ready)} of {want} updated replicas available", False
    else:
        message, complete = f"{want} of {want} replicas ready", True
    return RolloutStatus(
        name=str(meta.get("name")),
        namespace=str(meta.get("namespace")),
        revision=revision_of(dep),
        replicas=want,
        updated_replicas=updated,
        ready_replicas=ready,
        available_replicas=available,
        generation=generation,
        observed_generation=observed,
        complete=complete,
        message=message,
    )


async def get_deployment(api: KubeApi, name: str, namespace: str) -> Obj:
    dep = await api.get("apps/v1", "Deployment", name, namespace)
    if dep is None:
        raise NotFoundError(
            f"deployment {name!r} not found in namespace {namespace!r}",
            hint="Check the name and --namespace (`kubectl get deployments -n NAMESPACE`).",
            details={"name": name, "namespace": namespace},
        )
    return dep


async def owned_replicasets(api: KubeApi, dep: Obj) -> list[Obj]:
    uid = dep["metadata"].get("uid")
    out = []
    for rs in await api.list("apps/v1", "ReplicaSet", dep["metadata"]["namespace"], labels=selector_labels(dep)):
        owners = (rs.get("metadata") or {}).get("ownerReferences") or []
        if any(
            o.get("kind") == "Deployment" and (o.get("uid") == uid if uid else o.get("name") == dep["metadata"]["name"])
            for o in owners
        ):
            out.append(rs)
    return sorted(out, key=lambda r: revision_of(r) or 0)


def failure(message: str, diagnostics: Diagnostics, status: RolloutStatus, **extra: Any) -> RolloutFailedError:
    """ImagePullFailedError for pull failures, RolloutFailedError otherwise; diagnostics under
    details["diagnostics"]."""
    details: RolloutDetails = {
        "diagnostics": diagnostics.model_dump(mode="json"),
        "rollout": status.model_dump(mode="json"),
        "rolled_back": False,
        "rollback_revision": None,
    }
    details.update(cast(RolloutDetails, extra))
    full = f"{message}: {diagnostics.summary}"
    if set(diagnostics.reasons) & IMAGE_PULL_REASONS:
        images: list[str] = sorted(
            {c.image for p in diagnostics.pods for c in p.containers if c.reason in IMAGE_PULL_REASONS}
        )
        return ImagePullFailedError(
            full,
            details={**details, "images": images},
            hint=f"The cluster cannot pull {', '.join(images) or 'the image'}: push it to a registry "
            "the cluster reaches ({tool:push_image REF}) or load it into the cluster "
            "(`kind load docker-image REF`), and check the name and tag.",
        )
    return RolloutFailedError(full, details=details)


async def wait_for_rollout(
    api: KubeApi,
    name: str,
    namespace: str,
    *,
    timeout_s: float,
    policy: RolloutPolicy,
    progress: ProgressFn | None = None,
) -> RolloutStatus:
    """Poll the Deployment until its rollout completes.

    Raises:
        ImagePullFailedError: pods cannot pull their image.
        RolloutFailedError: pods back off (CrashLoopBackOff...), the progress deadline passed, or ``timeout_s`` ran out;
            ``details["diagnostics"]`` has pod states, events and log tails.
        NotFoundError: the Deployment does not exist.
    """
    deadline = time.monotonic() + timeout_s
    last_message = ""
    while True:
        dep = await get_deployment(api, name, namespace)
        status = status_of(dep)
        if status.complete:
            return status
        if status.message != last_message and progress is not None:
            await progress(status.ready_replicas, status.replicas or None, f"{name}: {status.message}")
        last_message = status.message
        if status.message.startswith("progress deadline exceeded"):
            raise failure(f"deployment {name} did not progress", await _diagnose(api, dep, policy), status)
        if status.observed_generation >= status.generation:
            pods = await current_pods(api, dep)
            backing_off = set().union(*(pod_reasons(p) for p in pods)) & BACKOFF_REASONS if pods else set()
            if backing_off:
                raise failure(
                    f"deployment {name} is failing ({', '.join(sorted(backing_off))})",
                    await _diagnose(api, dep, policy),
                    status,
                )
        if time.monotonic() >= deadline:
            raise failure(
                f"deployment {name} was not ready after {timeout_s:.3g}s ({status.message})",
                await _diagnose(api, dep, policy),
                status,
                timed_out=True,
            )
        await policy.sleep(min(policy.poll_interval_s, max(0.0, deadline - time.monotonic())))


async def current_pods(api: KubeApi, dep: Obj, replicasets: list[Obj] | None = None) -> list[Obj]:
    """The pods of the Deployment's current revision. The pods of an earlier one that are still going away do not
    fail a rollout: a real cluster keeps the crashing pods of a bad revision until the good one is ready, so a fix or
    a rollback would otherwise be judged by the pods it replaces."""
    pods = await api.list("v1", "Pod", dep["metadata"]["namespace"], labels=selector_labels(dep))
    revision = revision_of(dep)
    owned = replicasets if replicasets is not None else await owned_replicasets(api, dep)
    current = [rs for rs in owned if revision is not None and revision_of(rs) == revision]
    hashes = {str(((rs.get("metadata") or {}).get("labels") or {}).get("pod-template-hash")) for rs in current}
    hashes.discard("None")
    if not hashes:
        return pods
    return [p for p in pods if ((p.get("metadata") or {}).get("labels") or {}).get("pod-template-hash") in hashes]


async def _diagnose(api: KubeApi, dep: Obj, policy: RolloutPolicy) -> Diagnostics:
    owned = await owned_replicasets(api, dep)
    rs_names = {str(rs["metadata"]["name"]) for rs in owned}
    return await diagnose(
        api, dep, tail_lines=policy.log_tail_lines, extra_names=rs_names, pods=await current_pods(api, dep, owned)
    )


@dataclass(frozen=True)
class RollbackOutcome:
    rolled_back: bool
    revision: int | None
    """The revision whose template was restored."""
    message: str


async def rollback(api: KubeApi, name: str, namespace: str) -> RollbackOutcome:
    """Restore the template of the previous revision's ReplicaSet (``kubectl rollout undo``).

    A JSON patch replaces ``spec.template`` with the ReplicaSet's template minus its ``pod-template-hash`` label.
    """
    dep = await get_deployment(api, name, namespace)
    current = revision_of(dep) or 0
    previous = [rs for rs in await owned_replicasets(api, dep) if (revision_of(rs) or 0) < current]
    if not previous:
        return RollbackOutcome(
            False, None, f"no previous revision of deployment {name} to roll back to (revision {current} is the first)"
        )
    target = previous[-1]
    template = dict(target["spec"]["template"])
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != "pod-template-hash"}
    meta["labels"] = labels
    template["metadata"] = meta
    await api.patch(
        "apps/v1",
        "Deployment",
        name,
        namespace,
        [{"op": "replace", "path": "/spec/template", "value": template}],
        "json",
    )
    revision = revision_of(target)
    return RollbackOutcome(True, revision, f"rolled deployment {name} back to revision {revision}")
