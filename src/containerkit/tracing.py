"""OpenTelemetry traces (issue 18): a span per tool call, per workflow run and step, and per call out (a program
such as syft or hadolint, the engine, a registry, the Kubernetes API).

On only when the standard variables ask for it (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``; ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn it off):
then the SDK exports with its OTLP/HTTP exporter, configured by the rest of the standard variables. Off, nothing of
OpenTelemetry is imported and :func:`span` costs a check of one flag.

Attributes name things, never secrets: tool names, step ids, error codes, image digests, the session and workflow
run the span belongs to (from :mod:`containerkit.logs`' bound context). An exception is recorded by its code only.
A trace an MCP client started continues from the W3C ``traceparent`` it sends in the request's ``_meta``
(:func:`remote_parent`).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

_tracer: Any = None
_provider: Any = None
_checked = False


def _wanted() -> bool:
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true" or env.get("OTEL_TRACES_EXPORTER", "").lower() == "none":
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def _setup() -> Any:
    global _tracer, _checked, _provider
    if _checked:
        return _tracer
    _checked = True
    if not _wanted():
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from containerkit import __version__

    resource = Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME", "containerkit"), "service.version": __version__}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    atexit.register(provider.shutdown)  # the CLI's spans are exported before the process ends
    _provider = provider
    _tracer = provider.get_tracer("containerkit", __version__)
    return _tracer


def enabled() -> bool:
    return _setup() is not None


def flush() -> None:
    """Export the spans ended so far (the CLI does it at exit)."""
    if _tracer is not None and _provider is not None:
        _provider.force_flush()


def reset() -> None:
    """Export what is pending and read the environment again at the next span (tests)."""
    global _tracer, _checked, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer, _checked, _provider = None, False, None


@contextmanager
def span(name: str, *, client: bool = False, **attributes: str | int | float | bool | None) -> Iterator[None]:
    """A span around the block, a child of the current one; ``client``: a call out of the process."""
    tracer = _setup()
    if tracer is None:
        yield
        return
    from opentelemetry.trace import SpanKind, Status, StatusCode

    from containerkit import logs
    from containerkit.errors import ContainerKitError

    attrs: dict[str, str | int | float | bool] = {f"containerkit.{k}": v for k, v in logs.context().items()}
    attrs.update({f"containerkit.{k}": v for k, v in attributes.items() if v is not None})
    kind = SpanKind.CLIENT if client else SpanKind.INTERNAL
    with tracer.start_as_current_span(
        name, kind=kind, attributes=attrs, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield
        except ContainerKitError as e:
            current.set_attribute("containerkit.error.code", e.code)
            current.set_status(Status(StatusCode.ERROR, e.code))
            raise
        except BaseException as e:
            current.set_status(Status(StatusCode.ERROR, type(e).__name__))
            raise


@contextmanager
def remote_parent(carrier: Mapping[str, object] | None) -> Iterator[None]:
    """Continue the trace of a W3C ``traceparent`` (and ``tracestate``) in ``carrier`` (an MCP request's ``_meta``)."""
    if _setup() is None or not carrier or not isinstance(carrier.get("traceparent"), str):
        yield
        return
    from opentelemetry import context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    headers = {k: str(v) for k, v in carrier.items() if k in ("traceparent", "tracestate")}
    token = context.attach(TraceContextTextMapPropagator().extract(headers))
    try:
        yield
    finally:
        context.detach(token)
