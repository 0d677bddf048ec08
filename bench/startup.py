"""Start-up cost of the commands people run in loops and of the MCP server (issue 14).

    .venv/bin/python bench/startup.py [--runs 15]

One run measures every case interleaved (case 1, case 2, …, then again), so load on this shared machine hits all of
them alike; it prints the median wall time of each, the MCP servers' CPU time to answer ``initialize``, and the ratios
the targets are stated in. Targets (idle machine): ``--version`` ≤ 150 ms, ``analyze`` of a tiny app ≤ 400 ms,
``serve`` answering ``initialize`` ≤ 1.15 × the SDK's own do-nothing server.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TINY = ROOT / "tests" / "fixtures" / "repos" / "python-flask"

#: the SDK's own server with nothing registered: the floor for any server built on it
SDK_SERVER = """
import anyio
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server

async def main():
    server = Server("nothing")
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())

anyio.run(main)
"""

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "bench-startup", "version": "1"},
    },
}


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed


def initialize(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawning the server to its initialize response, and the CPU seconds it used until then."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
    proc.stdin.flush()
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{argv[0]} closed stdout before answering initialize")
        if json.loads(line).get("id") == 1:
            break
    wall = time.perf_counter() - start
    proc.kill()  # the server is idle now: its CPU time so far is what initialize cost
    _, _, usage = os.wait4(proc.pid, 0)
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--containerkit",
        default=str(BIN / "containerkit"),
        help='the command to measure, e.g. "python -m containerkit" with PYTHONPATH=<another checkout>/src',
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        # as a user runs them: byte code cached on disk (a PYTHONDONTWRITEBYTECODE=1 shell compiles every module anew)
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "CONTAINERKIT_HOME": home,
            "CONTAINERKIT_CONFIG": str(Path(home) / "none.yaml"),
            "CONTAINERKIT_ALLOWED_ROOTS": json.dumps([str(ROOT), home]),
        }
        dockerfile = Path(home) / "Dockerfile"
        dockerfile.write_text('FROM python:3.12-slim\nUSER 10001\nCMD ["python", "-V"]\n')
        ck = args.containerkit.split()
        sdk = Path(home) / "sdk_server.py"
        sdk.write_text(SDK_SERVER)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "containerkit --version": [*ck, "--version"],
            "containerkit analyze (tiny)": [*ck, "analyze", str(TINY), "--json"],
            "containerkit lint": [*ck, "lint", str(dockerfile), "--json"],
        }
        servers = {"containerkit serve": [*ck, "serve"], "SDK do-nothing server": [sys.executable, str(sdk)]}
        # once each first: the tool index and byte-code caches are warm for every measured run, as for a user
        for argv in commands.values():
            subprocess.run(argv, cwd=ROOT, env=env, capture_output=True)
        for argv in servers.values():
            initialize(argv, env)
        walls: dict[str, list[float]] = {name: [] for name in [*commands, *servers]}
        cpus: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.runs):
            for name, argv in commands.items():
                walls[name].append(timed(argv, env))
            for name, argv in servers.items():
                wall, cpu = initialize(argv, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    med = {name: statistics.median(values) for name, values in walls.items()}
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    load = os.getloadavg()[0]
    print(f"start-up, median of {args.runs} interleaved runs (load average {load:.2f}, {os.cpu_count()} cores)")
    for name in commands:
        print(f"  {name:<32} {med[name] * 1000:7.0f} ms")
    for name in servers:
        print(f"  {name + ' initialize':<32} {med[name] * 1000:7.0f} ms wall  {cpu[name] * 1000:7.0f} ms CPU")
    serve, floor = "containerkit serve", "SDK do-nothing server"
    checks = [
        ("--version", med["containerkit --version"] * 1000, "ms", 150),
        ("analyze (tiny)", med["containerkit analyze (tiny)"] * 1000, "ms", 400),
        ("serve/SDK initialize, wall", med[serve] / med[floor], "x", 1.15),
        ("serve/SDK initialize, CPU", cpu[serve] / cpu[floor], "x", 1.15),
    ]
    print("targets")
    for label, value, unit, target in checks:
        shown = f"{value:.0f} ms" if unit == "ms" else f"{value:.2f}x"
        limit = f"{target} ms" if unit == "ms" else f"{target}x"
        print(f"  {label:<32} {shown:>9}  (target ≤ {limit}: {'met' if value <= target else 'NOT met'})")
    print(f"  --version / python -c pass       {med['containerkit --version'] / med['python -c pass']:.2f}x")


if __name__ == "__main__":
    main()
