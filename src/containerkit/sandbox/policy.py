"""The sandbox policy from settings: a call can never exceed it."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from containerkit.errors import PolicyViolationError
from containerkit.imageref import check_image
from containerkit.settings import SandboxSettings


@dataclass(frozen=True)
class Limits:
    memory_mb: int
    cpus: float
    pids: int
    timeout_s: float
    network: str
    output_bytes: int


def enforce(policy: SandboxSettings, image: str, limits: Limits) -> None:
    """Raises PolicyViolationError naming the limit and the configured maximum."""
    check_image(image)
    if not any(fnmatch.fnmatch(image, pattern) for pattern in policy.allowed_images):
        raise PolicyViolationError(
            f"image {image} is not allowed by the sandbox policy",
            details={"allowed_images": list(policy.allowed_images)},
            hint="Use an allowed image or extend CONTAINERKIT_SANDBOX__ALLOWED_IMAGES.",
        )
    checks = [
        (
            limits.memory_mb > policy.max_memory_mb,
            f"memory {limits.memory_mb} MiB exceeds the maximum {policy.max_memory_mb} MiB",
        ),
        (limits.cpus > policy.max_cpus, f"cpus {limits.cpus:g} exceeds the maximum {policy.max_cpus:g}"),
        (limits.pids > policy.max_pids, f"pids {limits.pids} exceeds the maximum {policy.max_pids}"),
        (
            limits.timeout_s > policy.max_timeout_s,
            f"timeout {limits.timeout_s:g}s exceeds the maximum {policy.max_timeout_s:g}s",
        ),
        (limits.network != "none" and not policy.allow_network, "network access is not allowed by the sandbox policy"),
        (
            limits.output_bytes > policy.max_output_bytes,
            f"output cap {limits.output_bytes} exceeds the maximum {policy.max_output_bytes}",
        ),
    ]
    for violated, message in checks:
        if violated:
            raise PolicyViolationError(
                message, hint="Lower the request, or raise the limit in the sandbox settings (CONTAINERKIT_SANDBOX__*)."
            )
