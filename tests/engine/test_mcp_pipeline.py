"""build -> tag -> push through the MCP adapter with the SDK's in-memory client, progress notifications included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from containerkit.mcp.server import build_server
from tests.conftest import Harness
from tests.engine.helpers import BASE, app_dir, remove_images, unique


def test_build_tag_push_over_mcp_with_progress(
    harness: Harness, tmp_path: Path, docker_client: Any, local_registry: str
) -> None:
    path = app_dir(tmp_path / "app", f"FROM {BASE}\nRUN echo {unique()} > /x\nCOPY . /app\n", {"main.py": "print(1)\n"})
    local = f"{unique()}:1"
    remote = f"{local_registry}/{unique('mcp')}/app:1"
    progress: dict[str, list[tuple[float, float | None, str | None]]] = {"build": [], "push": []}

    def recorder(name: str) -> Any:
        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress[name].append((value, total, message))

        return on_progress

    async def body(client: Client) -> Any:
        built = await client.call_tool(
            "build_image", {"path": str(path), "tags": [local]}, progress_callback=recorder("build")
        )
        assert not built.is_error, built.content
        sid = built.structured_content["session_id"]
        tagged = await client.call_tool("tag_image", {"source": local, "target": remote, "session_id": sid})
        assert not tagged.is_error, tagged.content
        pushed = await client.call_tool(
            "push_image", {"reference": remote, "session_id": sid}, progress_callback=recorder("push")
        )
        assert not pushed.is_error, pushed.content
        return built.structured_content, pushed.structured_content

    async def main() -> Any:
        async with Client(build_server(harness.app)) as client:
            return await body(client)

    try:
        built, pushed = anyio.run(main)
        assert built["image_id"].startswith("sha256:") and built["strategy"]["name"]
        assert pushed["transfer"]["verified"] is True and pushed["session_id"] == built["session_id"]
        build_values = [v for v, _, _ in progress["build"]]
        assert build_values == sorted(build_values) and len(set(build_values)) == len(build_values), (
            "progress strictly increases"
        )
        assert any(m and m.startswith("step 2/") for _, _, m in progress["build"])
        assert any(m and "push layer" in m for _, _, m in progress["push"])
        push_values = [v for v, _, _ in progress["push"]]
        assert push_values == sorted(push_values)
    finally:
        remove_images(docker_client, local, remote)
