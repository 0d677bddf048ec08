#!/usr/bin/env python3
"""A minimal MCP server over stdio (newline-delimited JSON-RPC 2.0), standard library only.

scripts/testenv runs the Inspector CLI against it without network access to prove the CLI works offline:
    mcp-inspector --cli python3 scripts/testenv.d/mcp-smoke-server.py --method tools/call --tool-name ping
"""

import json
import sys


def answer(msg: dict) -> dict:
    method = msg.get("method")
    if method == "initialize":
        version = (msg.get("params") or {}).get("protocolVersion", "2025-06-18")
        return {
            "result": {
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "containerkit-testenv-smoke", "version": "1"},
            }
        }
    if method == "ping":
        return {"result": {}}
    if method == "tools/list":
        return {
            "result": {
                "tools": [
                    {
                        "name": "ping",
                        "description": "Answers pong.",
                        "inputSchema": {"type": "object", "properties": {}},
                    }
                ]
            }
        }
    if method == "tools/call":
        return {"result": {"content": [{"type": "text", "text": "pong"}], "isError": False}}
    return {"error": {"code": -32601, "message": f"method not found: {method}"}}


for line in sys.stdin:
    if not line.strip():
        continue
    msg = json.loads(line)
    if "id" not in msg:  # a notification
        continue
    print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], **answer(msg)}), flush=True)
