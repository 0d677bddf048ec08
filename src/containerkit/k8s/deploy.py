"""Deploy a manifest set: apply in order, wait for every Deployment's rollout, roll back a failed one.

The tool layer calls :func:`deploy` with an open :class:`~containerkit.k8s.client.KubeApi`; failures come out as
errors of :mod:`containerkit.errors` whose ``details`` carry ``diagnostics``, ``rolled_back`` and
``rollback_revision``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from containerkit.errors import RolloutFailedError
from containerkit.k8s.apply import AppliedObject, apply_all, deployments_of, ensure_namespaces, plan
from containerkit.k8s.client import KubeApi
from containerkit.k8s.load import LoadedObject
from containerkit.k8s.rollout import ProgressFn, RolloutPolicy, RolloutStatus, rollback, wait_for_rollout


@dataclass(frozen=True)
class DeployRequest:
    objects: list[LoadedObject]
    namespace: str
    dry_run: bool = False
    diff: bool = False
    timeout_s: float = 300.0
    rollback: bool = True
    create_namespace: bool = False
    wait: bool = True
    #: take over fields another field manager set (a 409 conflict otherwise), as kubectl's --force-conflicts
    force_conflicts: bool = False


@dataclass
class DeployOutcome:
    applied: list[AppliedObject]
    diff: str
    rollouts: list[RolloutStatus] = field(default_factory=list)
    duration_s: float = 0.0


async def deploy(
    api: KubeApi, request: DeployRequest, policy: RolloutPolicy, progress: ProgressFn | None = None
) -> DeployOutcome:
    """Apply ``request.objects`` and wait for the rollouts.

    Raises:
        NamespaceMissingError, ForbiddenError, ClusterUnreachableError, ManifestInvalidError: from the apply.
        ImagePullFailedError / RolloutFailedError: a rollout failed; rolled back unless ``request.rollback`` is false.
    """
    started = time.monotonic()
    planned = plan(request.objects, request.namespace)
    created, dry_only = await ensure_namespaces(api, planned, create=request.create_namespace, dry_run=request.dry_run)
    outcome = await apply_all(
        api,
        planned,
        dry_run=request.dry_run,
        want_diff=request.diff or request.dry_run,
        dry_only_namespaces=dry_only,
        force_conflicts=request.force_conflicts,
    )
    result = DeployOutcome(applied=[*created, *outcome.applied], diff=outcome.diff if request.diff else "")
    if request.dry_run or not request.wait:
        result.duration_s = time.monotonic() - started
        return result
    deadline = time.monotonic() + request.timeout_s  # like `kubectl rollout status --timeout`: the wait, not the apply
    for name, namespace in deployments_of(planned):
        remaining = max(0.0, deadline - time.monotonic())
        try:
            result.rollouts.append(
                await wait_for_rollout(api, name, namespace, timeout_s=remaining, policy=policy, progress=progress)
            )
        except RolloutFailedError as e:
            await _roll_back(api, name, namespace, e, enabled=request.rollback, policy=policy)
            raise
    result.duration_s = time.monotonic() - started
    return result


#: how long a failed deploy waits for the revision it rolled back to to serve again
ROLLBACK_WAIT_S = 120.0


async def _roll_back(
    api: KubeApi, name: str, namespace: str, error: RolloutFailedError, *, enabled: bool, policy: RolloutPolicy
) -> None:
    """Roll back, then wait until the previous revision serves again (its pods ready, the failed ones gone), so the
    error can say the app is back, or that it is not."""
    if not enabled:
        error.details.update(rolled_back=False, rollback_revision=None, rollback="skipped: no_rollback was set")
        return
    undo = await rollback(api, name, namespace)
    message = undo.message
    if undo.rolled_back:
        try:
            status = await wait_for_rollout(api, name, namespace, timeout_s=ROLLBACK_WAIT_S, policy=policy)
            message = f"{message}, which serves again ({status.ready_replicas}/{status.replicas} ready)"
            error.details["rollback_complete"] = True
        except RolloutFailedError as again:
            message = f"{message}, but it is not ready either: {again.message}"
            error.details["rollback_complete"] = False
    error.details.update(rolled_back=undo.rolled_back, rollback_revision=undo.revision, rollback=message)
    error.message = f"{error.message}; {message}"
