"""Prometheus metrics (issue 18): what a platform team running the MCP server or the pipeline scrapes.

Off by default and free then: every recording function returns at once while :func:`enable` has not run, and
``prometheus_client`` is not even imported (the start-up budget of the CLI holds). ``containerkit serve
--metrics-port PORT`` enables them and serves ``/metrics`` in the Prometheus text format.

Labels are bounded: tool names, outcomes (``ok`` or an error code), step states, severities, strategies. Never a
session id, an image name or a path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics import MetricWrapperBase

#: from a millisecond call to a ten-minute build
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
#: store operations: SQLite in WAL mode answers in micro- to milliseconds
STORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1)


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.registry = registry
        self.tool_calls = Counter(
            "containerkit_tool_calls",
            "Tool calls by tool and outcome (ok, or the error code).",
            ["tool", "outcome"],
            registry=registry,
        )
        self.tool_seconds = Histogram(
            "containerkit_tool_call_duration_seconds",
            "Tool call duration.",
            ["tool"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.workflow_runs = Counter(
            "containerkit_workflow_runs",
            "Workflow runs by kind (containerize or custom) and final status.",
            ["kind", "status"],
            registry=registry,
        )
        self.workflow_steps = Counter(
            "containerkit_workflow_steps",
            "Workflow steps by tool and final state.",
            ["tool", "status"],
            registry=registry,
        )
        self.build_seconds = Histogram(
            "containerkit_build_duration_seconds",
            "Image build duration by strategy.",
            ["strategy"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.build_steps = Counter(
            "containerkit_build_steps",
            "Build steps, cached (from the build cache) or not.",
            ["cached"],
            registry=registry,
        )
        self.push_bytes = Counter(
            "containerkit_push_bytes", "Layer bytes pushed (layers the registry did not have).", registry=registry
        )
        self.push_seconds = Histogram(
            "containerkit_push_duration_seconds", "Push duration.", buckets=DURATION_BUCKETS, registry=registry
        )
        self.scan_findings = Counter(
            "containerkit_scan_findings",
            "Vulnerability findings reported by scans, by severity and fixability.",
            ["severity", "fixable"],
            registry=registry,
        )
        self.rollouts = Counter(
            "containerkit_rollouts",
            "Deployment rollouts by outcome (succeeded, or the error code).",
            ["outcome"],
            registry=registry,
        )
        self.rollout_seconds = Histogram(
            "containerkit_rollout_duration_seconds",
            "Deploy duration up to the rollout's outcome.",
            ["outcome"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.sessions_active = Gauge(
            "containerkit_sessions_active",
            "Sessions not expired, read from the store at scrape time.",
            registry=registry,
        )
        self.store_seconds = Histogram(
            "containerkit_store_operation_duration_seconds",
            "Session store operation latency.",
            ["operation"],
            buckets=STORE_BUCKETS,
            registry=registry,
        )
        self.mcp_in_flight = Gauge(
            "containerkit_mcp_requests_in_flight", "MCP requests being handled.", registry=registry
        )


_m: _Metrics | None = None


def enable(
    registry: CollectorRegistry | None = None,
    sessions: Callable[[], float] | None = None,
    tools: list[str] | None = None,
) -> CollectorRegistry:
    """Start recording into ``registry`` (a new one by default); ``sessions`` counts the active sessions at scrape
    time. The series of ``tools`` and of every bounded label value start at zero, so a rate over the first minutes
    has a start and a dashboard shows a zero, not a gap. Returns the registry."""
    global _m
    from prometheus_client import CollectorRegistry, disable_created_metrics

    # the *_created series double every counter for nothing a dashboard reads (the function is untyped upstream)
    cast(Callable[[], None], disable_created_metrics)()
    _m = _Metrics(registry or CollectorRegistry(auto_describe=True))
    _children.clear()
    if sessions is not None:
        _m.sessions_active.set_function(sessions)
    _initialize(_m, tools or [])
    return _m.registry


def _initialize(m: _Metrics, tools: list[str]) -> None:
    for tool in tools:
        m.tool_calls.labels(tool, "ok")
        m.tool_seconds.labels(tool)
    for kind in ("containerize", "custom"):
        for status in ("succeeded", "failed", "cancelled"):
            m.workflow_runs.labels(kind, status)
    for strategy in ("buildkit", "docker", "podman"):
        m.build_seconds.labels(strategy)
    for cached in ("true", "false"):
        m.build_steps.labels(cached)
    for severity in ("critical", "high", "medium", "low", "negligible", "unknown"):
        for fixable in ("true", "false"):
            m.scan_findings.labels(severity, fixable)
    m.rollouts.labels("succeeded")
    m.rollout_seconds.labels("succeeded")


def disable() -> None:
    global _m
    _m = None
    _children.clear()


def enabled() -> bool:
    return _m is not None


def serve(host: str, port: int) -> int:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread (prometheus_client's own server, as exporters do);
    the port actually bound (``port`` 0 picks a free one)."""
    from prometheus_client import start_http_server

    if _m is None:
        enable()
    assert _m is not None
    server, _thread = start_http_server(port, addr=host, registry=_m.registry)
    return int(server.server_address[1])


# --- recording (each a no-op while metrics are off) ----------------------------------------------------------------


#: labelled children by (metric name, label values): prometheus_client's labels() validates and locks on every call,
#: a cost per tool call and per store operation; the label values are bounded, and so is this
_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def _child(metric: MetricWrapperBase, *values: str) -> Any:
    key = (id(metric), values)  # the metrics live as long as _m; this is emptied with it
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


def tool_call(tool: str, outcome: str, seconds: float) -> None:
    if _m is not None:
        _child(_m.tool_calls, tool, outcome).inc()
        _child(_m.tool_seconds, tool).observe(seconds)


def workflow_run(kind: str, status: str) -> None:
    if _m is not None:
        _child(_m.workflow_runs, kind, status).inc()


def workflow_step(tool: str, status: str) -> None:
    if _m is not None:
        _child(_m.workflow_steps, tool, status).inc()


def build(strategy: str, seconds: float, steps: int, cached: int) -> None:
    if _m is not None:
        _child(_m.build_seconds, strategy).observe(seconds)
        _child(_m.build_steps, "true").inc(cached)
        _child(_m.build_steps, "false").inc(max(0, steps - cached))


def push(seconds: float, sent_bytes: int) -> None:
    if _m is not None:
        _m.push_seconds.observe(seconds)
        _m.push_bytes.inc(sent_bytes)


def scan_findings(counts: dict[tuple[str, bool], int]) -> None:
    """Findings of one scan: (severity, fixable) -> how many."""
    if _m is not None:
        for (severity, fixable), n in counts.items():
            _child(_m.scan_findings, severity, "true" if fixable else "false").inc(n)


def rollout(outcome: str, seconds: float) -> None:
    if _m is not None:
        _child(_m.rollouts, outcome).inc()
        _child(_m.rollout_seconds, outcome).observe(seconds)


def store_operation(operation: str, seconds: float) -> None:
    if _m is not None:
        _child(_m.store_seconds, operation).observe(seconds)


@contextmanager
def mcp_request() -> Iterator[None]:
    if _m is None:
        yield
        return
    _m.mcp_in_flight.inc()
    try:
        yield
    finally:
        _m.mcp_in_flight.dec()
