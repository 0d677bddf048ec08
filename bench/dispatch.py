"""Dispatch cost: in-process tracked tool calls, and MCP stdio round trips.

    .venv/bin/python bench/dispatch.py [--calls 10000] [--mcp-calls 1000]

(a) ``registry.call("get_session")`` in process, 10,000 times, including the job row writes, with the Prometheus
    metrics off, on, and on with OTLP tracing (alternating blocks of 500 calls, the same run). Target: p95 <= 300
    µs, metrics on too.
(b) MCP stdio round trip of ``server_status`` (check_engine=false), 1,000 calls, measured in this process as the
    client against ``containerkit serve`` in a separate process. Target: p95 <= 3 ms.
(c) the same round trip against the SDK's high-level MCPServer with a do-nothing tool, for comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "mean": statistics.fmean(ordered)}


def show(title: str, samples_s: list[float], unit: str, scale: float, target: float | None = None) -> None:
    p = {k: v * scale for k, v in percentiles(samples_s).items()}
    verdict = (
        "" if target is None else f"  (target p95 <= {target:g} {unit}: {'met' if p['p95'] <= target else 'MISSED'})"
    )
    print(
        f"{title:<55} n={len(samples_s):>6}  p50={p['p50']:8.1f} {unit}  p95={p['p95']:8.1f} {unit}  "
        f"p99={p['p99']:8.1f} {unit}{verdict}"
    )


def bench_in_process(calls: int, home: Path) -> None:
    os.environ["CONTAINERKIT_HOME"] = str(home)
    from containerkit.app import build_app

    app = build_app()
    sid = app.services.store.create_session().id
    params = {"session_id": sid}

    async def main() -> dict[str, list[float]]:
        from containerkit import metrics, tracing

        for _ in range(200):  # warm up
            await app.registry.call(app.services, "get_session", params)
        samples: dict[str, list[float]] = {"off": [], "metrics": [], "metrics+tracing": []}
        block = 500  # the three cases alternate in blocks: each sees the same machine
        for start in range(0, calls, block):
            for case, out in samples.items():
                if case != "off":
                    metrics.enable(tools=app.registry.names())
                if case == "metrics+tracing":
                    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver
                tracing.reset()
                for _ in range(min(block, calls - start)):
                    t0 = time.perf_counter()
                    await app.registry.call(app.services, "get_session", params)
                    out.append(time.perf_counter() - t0)
                metrics.disable()
                os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        tracing.reset()
        return samples

    receiver = _sink()
    samples = anyio.run(main)
    show("in-process registry.call(get_session) incl. job rows", samples["off"], "µs", 1e6, 300)
    show("  the same with Prometheus metrics on", samples["metrics"], "µs", 1e6, 300)
    show("  the same with metrics and OTLP tracing on", samples["metrics+tracing"], "µs", 1e6)
    base = percentiles(samples["off"])["p95"]
    print(
        f"  p95 ratios to off: metrics {percentiles(samples['metrics'])['p95'] / base:.2f}x, "
        f"metrics+tracing {percentiles(samples['metrics+tracing'])['p95'] / base:.2f}x"
    )


def _sink() -> str:
    """An OTLP/HTTP endpoint that accepts every export (what a collector costs is not the subject here)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


async def round_trips(params: StdioServerParameters, tool: str, args: dict[str, object], calls: int) -> list[float]:
    async with Client(params) as client:
        for _ in range(50):
            await client.call_tool(tool, args)
        out = []
        for _ in range(calls):
            t0 = time.perf_counter()
            result = await client.call_tool(tool, args)
            out.append(time.perf_counter() - t0)
            assert not result.is_error
        return out


BASELINE = textwrap.dedent("""
    from mcp.server.mcpserver import MCPServer
    server = MCPServer("baseline")

    @server.tool()
    def noop() -> str:
        return "ok"

    server.run()
""")


def bench_mcp(calls: int, home: Path) -> None:
    env = {**os.environ, "CONTAINERKIT_HOME": str(home)}
    ours = StdioServerParameters(command=sys.executable, args=["-m", "containerkit", "serve"], env=env)
    samples = anyio.run(round_trips, ours, "server_status", {"check_engine": False}, calls)
    show("MCP stdio round trip: containerkit server_status", samples, "ms", 1e3, 3.0)
    base = StdioServerParameters(command=sys.executable, args=["-c", BASELINE], env=env)
    samples = anyio.run(round_trips, base, "noop", {}, calls)
    show("MCP stdio round trip: SDK MCPServer do-nothing tool", samples, "ms", 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--mcp-calls", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_in_process(args.calls, Path(tmp) / "inproc")
        bench_mcp(args.mcp_calls, Path(tmp) / "mcp")


if __name__ == "__main__":
    main()
