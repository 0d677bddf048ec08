"""The size of the MCP server's tools/list answer, per toolset and read-only (issue 14; the table in docs/mcp.md).

    .venv/bin/python bench/mcp_listing.py [--markdown]

Measured as the SDK sends it: the ListToolsResult as compact JSON, through the SDK client in memory.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from containerkit.app import build_app
from containerkit.mcp.server import TOOLSETS, Exposure, build_server
from containerkit.settings import load_settings


async def listing(app: Any, exposure: Exposure) -> tuple[int, int]:
    async with Client(build_server(app, exposure=exposure), mode="legacy") as client:
        tools = (await client.list_tools()).tools
    body = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    return len(tools), len(json.dumps({"tools": body}, separators=(",", ":")))


def sizes() -> list[tuple[str, int, int]]:
    with tempfile.TemporaryDirectory() as home:
        app = build_app(load_settings(home=Path(home)))
        rows = [("all", *anyio.run(listing, app, Exposure()))]
        rows += [(name, *anyio.run(listing, app, Exposure.parse(name))) for name in TOOLSETS]
        rows.append(("all, --read-only", *anyio.run(listing, app, Exposure(read_only=True))))
        if app.services.store_opened:
            app.services.store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markdown", action="store_true", help="print the table of docs/mcp.md")
    args = parser.parse_args()
    rows = sizes()
    if args.markdown:
        print("| toolset | tools | tools/list |\n|---|---|---|")
        for name, count, size in rows:
            print(f"| {name} | {count} | {size / 1000:.1f} KB |")
    else:
        for name, count, size in rows:
            print(f"{name:<20} {count:3} tools {size:7} bytes")


if __name__ == "__main__":
    main()
