"""Volumes for the paths the image's runtime writes (``ServiceAnalysis.writable_paths``), so a read-only root
filesystem still works."""

from __future__ import annotations


def volume_name(path: str) -> str:
    """A DNS-1123 volume name for a mount path: /tmp -> tmp, /var/run/apache2 -> var-run-apache2."""
    cleaned = "".join(c if c.isalnum() else "-" for c in path.strip("/").lower())
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned.strip("-")[:63].rstrip("-") or "data"
