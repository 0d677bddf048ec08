"""Image operations on the engine: inspect, tag, push, pull (with per-layer progress)."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from docker.errors import APIError, ImageNotFound

from containerkit.engine.endpoint import TRANSPORT_ERRORS
from containerkit.engine.models import ImageInfo, LayerProgress, TransferOutcome
from containerkit.engine.stream import json_stream
from containerkit.errors import (
    ContainerKitError,
    NetworkError,
    NotFoundError,
    RegistryAuthError,
    RegistryDetails,
    RegistryError,
)
from containerkit.redaction import redact

LayerCallback = Callable[[LayerProgress], Awaitable[None]]

_AUTH = re.compile(
    r"unauthorized|authentication required|no basic auth credentials|denied|401|403 Forbidden|insufficient_scope", re.I
)
_MISSING = re.compile(r"manifest unknown|not found|does not exist|no such image", re.I)
_NETWORK = re.compile(
    r"dial tcp|connection refused|no such host|i/o timeout|network is unreachable|connection reset|"
    r"TLS handshake timeout|EOF$|broken pipe|server misbehaving",
    re.I,
)
_SERVER = re.compile(
    r"\b5\d\d\b|internal server error|bad gateway|service unavailable|too many requests|toomanyrequests", re.I
)
_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


def image_info(data: dict[str, Any]) -> ImageInfo:
    config = data.get("Config") or {}
    return ImageInfo(
        id=str(data.get("Id", "")),
        repo_tags=list(data.get("RepoTags") or []),
        repo_digests=list(data.get("RepoDigests") or []),
        size_bytes=int(data.get("Size") or 0),
        layers=len((data.get("RootFS") or {}).get("Layers") or []),
        created=str(data.get("Created", "")),
        architecture=str(data.get("Architecture", "")),
        os=str(data.get("Os", "")),
        labels={str(k): str(v) for k, v in (config.get("Labels") or {}).items()},
    )


async def inspect(api: Any, ref: str) -> ImageInfo:
    """Raises: NotFoundError when the engine has no such image."""
    try:
        data: dict[str, Any] = await anyio.to_thread.run_sync(api.inspect_image, ref)
    except ImageNotFound as e:
        raise NotFoundError(
            f"image {ref} is not present on the engine",
            hint="Build it, or pull it first ({tool:pull_image}).",
            details={"reference": ref},
        ) from e
    except APIError as e:
        if e.status_code == 404:
            raise NotFoundError(f"image {ref} is not present on the engine", hint="Build or pull it first.") from e
        raise RegistryError(f"inspecting {ref} failed: {e.explanation}", retryable=False) from e
    return image_info(data)


async def tag(api: Any, source: str, repository: str, tag_name: str) -> None:
    """Raises: NotFoundError when ``source`` does not exist."""
    try:
        await anyio.to_thread.run_sync(lambda: api.tag(source, repository, tag_name, force=True))
    except (ImageNotFound, APIError) as e:
        if isinstance(e, ImageNotFound) or getattr(e, "status_code", None) == 404:
            raise NotFoundError(f"image {source} is not present on the engine", hint="Build or pull it first.") from e
        raise RegistryError(f"tagging {source} failed: {e}", retryable=False) from e


def classify_transfer(action: str, reference: str, message: str) -> ContainerKitError:
    """A push/pull failure as a typed error (auth is never retryable)."""
    text = redact(message.strip())[:500]
    details = RegistryDetails(reference=reference, engine_message=text)
    if _AUTH.search(text):
        return RegistryAuthError(f"{action} {reference}: registry authentication failed: {text}", details=details)
    if re.search(r"does not exist locally|No such image", text, re.I):
        return NotFoundError(
            f"{action} {reference}: no such local image", hint="Build or tag the image first.", details=details
        )
    if _MISSING.search(text):
        return NotFoundError(
            f"{action} {reference}: not found in the registry: {text}",
            hint="Check the repository, tag or digest ({tool:registry_tags REPO}).",
            details=details,
        )
    if _NETWORK.search(text):
        return NetworkError(f"{action} {reference}: network failure: {text}", details=details)
    if _SERVER.search(text):
        return RegistryError(f"{action} {reference}: registry error: {text}", retryable=True, details=details)
    return RegistryError(f"{action} {reference} failed: {text}", retryable=False, details=details)


async def transfer(
    api: Any,
    action: str,
    reference: str,
    start: Callable[[], Any],
    on_layer: LayerCallback,
) -> TransferOutcome:
    """Drive a push or pull stream; raise the classified error the engine reported."""
    started = time.monotonic()
    layers: dict[str, str] = {}
    sizes: dict[str, int] = {}  # layer -> bytes, from the progress of the layers actually sent
    digest: str | None = None
    try:
        async with json_stream(api, start) as chunks:
            async for chunk in chunks:
                if "error" in chunk or "errorDetail" in chunk:
                    msg = chunk.get("error") or (chunk.get("errorDetail") or {}).get("message", "failed")
                    raise classify_transfer(action, reference, str(msg))
                digest = _digest_of(chunk) or digest
                layer = chunk.get("id")
                status = str(chunk.get("status", ""))
                if layer and re.fullmatch(r"[0-9a-f]{12}", str(layer)):
                    layers[str(layer)] = status
                    detail = chunk.get("progressDetail") or {}
                    if isinstance(detail.get("total"), int) and detail["total"] > 0:
                        sizes[str(layer)] = max(sizes.get(str(layer), 0), int(detail["total"]))
                    await on_layer(
                        LayerProgress(
                            layer=str(layer), status=status, current=detail.get("current"), total=detail.get("total")
                        )
                    )
    except APIError as e:
        raise classify_transfer(action, reference, str(e.explanation or e)) from e
    except TRANSPORT_ERRORS as e:
        raise NetworkError(f"{action} {reference}: engine connection failed: {redact(str(e))[:300]}") from e
    existing = sum(1 for s in layers.values() if s in ("Layer already exists", "Already exists"))
    return TransferOutcome(
        reference=reference,
        digest=digest,
        layers=len(layers),
        layers_existing=existing,
        bytes=sum(sizes.values()),
        duration_s=round(time.monotonic() - started, 3),
    )


def _digest_of(chunk: dict[str, Any]) -> str | None:
    aux = chunk.get("aux")
    if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
        return str(aux["Digest"])
    status = str(chunk.get("status", ""))
    m = _DIGEST.search(status) or re.match(r"Digest: (sha256:[0-9a-f]{64})", status)
    return m.group(1) if m else None
