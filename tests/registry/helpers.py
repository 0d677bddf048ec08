"""Registry test helpers: a tiny image built once per test, unique repositories."""

from __future__ import annotations

import io
import uuid
from typing import Any


def unique_repo(prefix: str = "ck-test") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


def small_image(docker_client: Any, ref: str) -> str:
    """Build a one-layer image from debian:bookworm-slim tagged ``ref`` (unique content); returns its id."""
    marker = uuid.uuid4().hex
    dockerfile = f"FROM debian:bookworm-slim\nRUN echo {marker} > /marker\n".encode()
    image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag=ref, rm=True)
    return str(image.id)
