"""The error decides a retry, and how long to wait: a server's Retry-After (HTTP 429/503) reaches every retry loop
through the error (issue 17), capped so a server cannot park a run for an hour."""

from __future__ import annotations

import email.utils

import anyio
import httpx
import pytest

from containerkit.errors import MAX_RETRY_AFTER_S, ContainerKitError, RegistryError, parse_retry_after
from containerkit.registry.oci import OciClient
from tests.conftest import Harness


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(email.utils.formatdate(1_000_030, usegmt=True), now=1_000_000) == pytest.approx(30)
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None


def test_the_delay_is_the_backoff_or_what_the_server_asked_capped() -> None:
    assert RegistryError("x").retry_delay(2.0) == 2.0
    assert RegistryError("x", retry_after_s=9).retry_delay(2.0) == 9.0
    assert RegistryError("x", retry_after_s=3600).retry_delay(2.0) == MAX_RETRY_AFTER_S
    assert RegistryError("x", retry_after_s=9).to_dict()["retry_after_s"] == 9


def test_a_registry_that_says_slow_down_gives_an_error_with_its_delay() -> None:
    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "12"}, text="too many requests")

    async def main() -> None:
        async with OciClient("reg", insecure=["reg"], transport=httpx.MockTransport(limited)) as oci:
            await oci.list_tags("a/b")

    with pytest.raises(ContainerKitError) as info:
        anyio.run(main)
    assert info.value.retryable and info.value.retry_after_s == 12.0


def test_the_workflow_runner_waits_as_long_as_the_error_says(harness: Harness) -> None:
    from containerkit.tools.base import ToolContext, ToolParams, ToolResult
    from containerkit.tools.registry import ToolRegistry
    from containerkit.workflow.runner import WorkflowRunner
    from containerkit.workflow.spec import load_spec
    from tests.workflow.helpers import spec

    calls: list[int] = []
    reg = ToolRegistry()

    class P(ToolParams):
        pass

    class R(ToolResult):
        ok: bool

    @reg.tool("busy", title="Busy", description="rate-limited once", params=P, result=R)
    async def busy(ctx: ToolContext, p: P) -> R:
        calls.append(1)
        if len(calls) == 1:
            raise RegistryError("slow down", retry_after_s=0.3)
        return R(ok=True)

    runner = WorkflowRunner(reg, harness.app.services)
    session = harness.app.services.store.create_session()
    data = spec([{"id": "b", "tool": "busy", "params": {}, "retries": 1, "retry_backoff_s": 0.01}])
    record = anyio.run(lambda: runner.start(load_spec(data), {}, session.id))
    assert record.status == "succeeded" and len(calls) == 2
    events = harness.app.services.store.runs.events(record.id)
    delays = [e.detail.get("delay_s") for e in events if e.kind == "retry"]
    assert delays == [0.3]
