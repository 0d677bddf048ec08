"""Why a Deployment's pods are not ready: pod phases, container states, scheduling, events and log tails.

The reasons looked for are the ones users can act on — ``CrashLoopBackOff``, ``ImagePullBackOff``/``ErrImagePull``,
``OOMKilled``, ``Unschedulable`` (the pod's PodScheduled condition) — and they are listed in
:attr:`Diagnostics.reasons`, which the workflow's failure routing reads.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from containerkit.k8s.client import KubeApi, Obj

#: waiting reasons meaning the kubelet already retried and backs off (the rollout will not fix itself)
BACKOFF_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)
IMAGE_PULL_REASONS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})
MAX_PODS = 10
MAX_EVENTS = 25


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContainerDiagnosis(_Frozen):
    name: str
    image: str
    ready: bool
    restart_count: int
    state: str = Field(description="waiting | running | terminated | unknown")
    reason: str | None = Field(None, description="e.g. CrashLoopBackOff, ImagePullBackOff, OOMKilled.")
    message: str | None = None
    exit_code: int | None = None
    last_termination_reason: str | None = Field(None, description="Why the previous run ended (e.g. OOMKilled, Error).")
    last_exit_code: int | None = None
    log_tail: str = Field("", description="Last log lines (of the previous run when it restarted).")


class PodDiagnosis(_Frozen):
    name: str
    phase: str
    ready: bool
    unschedulable: str | None = Field(None, description="The scheduler's message when the pod cannot be placed.")
    containers: list[ContainerDiagnosis]


class EventInfo(_Frozen):
    type: str
    reason: str
    object: str = Field(description="Kind/name the event is about.")
    message: str
    count: int


class Diagnostics(_Frozen):
    reasons: list[str] = Field(
        description="Actionable reasons found, sorted (CrashLoopBackOff, ImagePullBackOff, ...)."
    )
    summary: str
    pods: list[PodDiagnosis]
    events: list[EventInfo]


def _state(status: Obj) -> tuple[str, str | None, str | None, int | None]:
    state = status.get("state") or {}
    for name in ("waiting", "terminated", "running"):
        if name in state and state[name] is not None:
            inner = state[name] or {}
            code = inner.get("exitCode")
            return name, inner.get("reason"), inner.get("message"), int(code) if code is not None else None
    return "unknown", None, None, None


def pod_reasons(pod: Obj) -> set[str]:
    """The actionable reasons one pod shows."""
    out: set[str] = set()
    status = pod.get("status") or {}
    for cond in status.get("conditions") or []:
        if (
            cond.get("type") == "PodScheduled"
            and cond.get("status") == "False"
            and cond.get("reason") == "Unschedulable"
        ):
            out.add("Unschedulable")
    for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        _, reason, _, _ = _state(cs)
        if reason in BACKOFF_REASONS or reason == "OOMKilled":
            out.add(str(reason))
        last = ((cs.get("lastState") or {}).get("terminated") or {}).get("reason")
        if last == "OOMKilled":
            out.add("OOMKilled")
    return out


async def _container(api: KubeApi, pod: Obj, cs: Obj, tail_lines: int) -> ContainerDiagnosis:
    state, reason, message, exit_code = _state(cs)
    last = (cs.get("lastState") or {}).get("terminated") or {}
    restarts = int(cs.get("restartCount") or 0)
    log = ""
    failing = not cs.get("ready") and (restarts > 0 or state == "terminated" or reason == "CrashLoopBackOff")
    if failing:
        meta = pod["metadata"]
        log = await api.pod_log(
            meta["name"], meta["namespace"], str(cs.get("name")), tail_lines=tail_lines, previous=restarts > 0
        )
    return ContainerDiagnosis(
        name=str(cs.get("name")),
        image=str(cs.get("image", "")),
        ready=bool(cs.get("ready")),
        restart_count=restarts,
        state=state,
        reason=reason,
        message=message,
        exit_code=exit_code,
        last_termination_reason=last.get("reason"),
        last_exit_code=last.get("exitCode"),
        log_tail=log.strip("\n"),
    )


async def diagnose_pod(api: KubeApi, pod: Obj, tail_lines: int) -> PodDiagnosis:
    status = pod.get("status") or {}
    unschedulable = next(
        (
            str(c.get("message", ""))
            for c in status.get("conditions") or []
            if c.get("type") == "PodScheduled" and c.get("status") == "False"
        ),
        None,
    )
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    containers = [await _container(api, pod, cs, tail_lines) for cs in status.get("containerStatuses") or []]
    return PodDiagnosis(
        name=pod["metadata"]["name"],
        phase=str(status.get("phase", "Unknown")),
        ready=ready,
        unschedulable=unschedulable,
        containers=containers,
    )


def _event_time(e: Obj) -> str:
    return str(e.get("lastTimestamp") or e.get("eventTime") or (e.get("metadata") or {}).get("creationTimestamp") or "")


async def recent_events(api: KubeApi, namespace: str, names: set[str]) -> list[EventInfo]:
    """Events of the namespace about the given objects, oldest first, the last :data:`MAX_EVENTS`."""
    events = [
        e for e in await api.list("v1", "Event", namespace) if (e.get("involvedObject") or {}).get("name") in names
    ]
    events.sort(key=_event_time)
    return [
        EventInfo(
            type=str(e.get("type", "")),
            reason=str(e.get("reason", "")),
            object=f"{e['involvedObject'].get('kind', '')}/{e['involvedObject'].get('name', '')}",
            message=str(e.get("message", "")),
            count=int(e.get("count") or 1),
        )
        for e in events[-MAX_EVENTS:]
    ]


def selector_labels(deployment: Obj) -> dict[str, str]:
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {str(k): str(v) for k, v in labels.items()}


async def diagnose(
    api: KubeApi,
    deployment: Obj,
    *,
    tail_lines: int = 30,
    extra_names: set[str] | None = None,
    pods: list[Obj] | None = None,
) -> Diagnostics:
    """Collect pod states, events and log tails for a Deployment's pods (failing pods first): ``pods`` when given
    (the current revision's), else every pod its selector matches."""
    meta = deployment["metadata"]
    namespace = meta["namespace"]
    if pods is None:
        pods = await api.list("v1", "Pod", namespace, labels=selector_labels(deployment))
    pods = list(pods)
    pods.sort(key=lambda p: (not pod_reasons(p), p["metadata"]["name"]))
    diagnosed = [await diagnose_pod(api, p, tail_lines) for p in pods[:MAX_PODS]]
    reasons: set[str] = set()
    for pod in pods:
        reasons |= pod_reasons(pod)
    names = {meta["name"], *(p["metadata"]["name"] for p in pods), *(extra_names or set())}
    events = await recent_events(api, namespace, names)
    return Diagnostics(
        reasons=sorted(reasons), summary=summarize(diagnosed, reasons, events), pods=diagnosed, events=events
    )


def summarize(pods: list[PodDiagnosis], reasons: set[str], events: list[EventInfo]) -> str:
    if not pods:
        warning = next((e for e in reversed(events) if e.type == "Warning"), None)
        return f"no pods were created{': ' + warning.message if warning else ''}"
    parts: list[str] = []
    for pod in pods:
        if pod.unschedulable:
            parts.append(f"{pod.name}: Unschedulable ({pod.unschedulable})")
        for c in pod.containers:
            if not c.ready:
                what = c.reason or c.state
                extra = (
                    f", last exit {c.last_exit_code} ({c.last_termination_reason})" if c.last_termination_reason else ""
                )
                parts.append(f"{pod.name}/{c.name}: {what}, {c.restart_count} restarts{extra}")
    ready = sum(1 for p in pods if p.ready)
    head = f"{ready}/{len(pods)} pods ready" + (f"; {', '.join(sorted(reasons))}" if reasons else "")
    return "; ".join([head, *parts[:5]])


def as_details(diagnostics: Diagnostics) -> Any:
    return diagnostics.model_dump(mode="json")
