"""Helpers for engine tests: tiny Dockerfiles in tmp dirs, unique tags, a recording progress sink."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE = "debian:bookworm-slim"


def unique(prefix: str = "ck-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def app_dir(root: Path, dockerfile: str, files: dict[str, str] | None = None, dockerignore: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text(dockerfile)
    for name, content in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    if dockerignore is not None:
        (root / ".dockerignore").write_text(dockerignore)
    return root


@dataclass
class Recorder:
    events: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        self.events.append((progress, total, message))

    def messages(self) -> list[str]:
        return [m or "" for _, _, m in self.events]


def remove_images(docker_client: Any, *refs: str) -> None:
    for ref in refs:
        try:
            docker_client.images.remove(ref, force=True)
        except Exception:  # noqa: S112 - best-effort cleanup of test images
            continue


def containers_running(docker_client: Any, marker: str) -> list[dict[str, Any]]:
    """Containers (running or stopped) whose command contains ``marker``.

    One list call with no inspect per container: tests running in parallel remove theirs between a list and an inspect.
    """
    return [c for c in docker_client.api.containers(all=True) if marker in (c.get("Command") or "")]
