"""What the generated image's runtime writes, so a read-only root filesystem still works.

Mirrors the Dockerfile templates (containerkit.dockerfile.render): every runtime gets ``/tmp``; nginx (static sites
and single-page apps) keeps its pid and temp files under ``/tmp``; Apache (PHP) writes its pid and lock files under
``/var/run/apache2`` and ``/var/lock/apache2``; Laravel and Rails write caches and logs in the app tree; Next.js
writes its image/ISR cache under ``.next/cache``.
"""

from __future__ import annotations

from containerkit.analysis.models import ServiceAnalysis

_LARAVEL = ("storage/framework/cache", "storage/framework/sessions", "storage/framework/views", "storage/logs", "bootstrap/cache")


def writable_paths(svc: ServiceAnalysis) -> tuple[str, ...]:
    """Absolute paths to back with ``emptyDir`` volumes, ``/tmp`` first."""
    paths = ["/tmp"]  # noqa: S108 - a mount path inside the container, not a temp file here
    if svc.language == "php":
        paths += ["/var/run/apache2", "/var/lock/apache2"]
        if svc.framework == "laravel":
            paths += [f"/var/www/html/{p}" for p in _LARAVEL]
    elif svc.language == "ruby" and svc.framework == "rails":
        paths += ["/app/tmp", "/app/log"]
    elif svc.language == "node" and svc.framework == "nextjs":
        paths += ["/app/.next/cache"]
    return tuple(paths)


def volume_name(path: str) -> str:
    """A DNS-1123 volume name for a mount path: /tmp -> tmp, /var/run/apache2 -> var-run-apache2."""
    cleaned = "".join(c if c.isalnum() else "-" for c in path.strip("/").lower())
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned.strip("-")[:63].rstrip("-") or "data"
