"""OCI image annotations (``org.opencontainers.image.*``) for a build, from git when available."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from pathlib import Path

from containerkit import _proc
from containerkit.errors import ContainerKitError

PREFIX = "org.opencontainers.image."
_CREDENTIALS_IN_URL = re.compile(r"(?<=://)[^/@\s]+@")


async def _git(root: Path, *args: str) -> str | None:
    try:
        result = await _proc.run(["git", "-C", str(root), *args], timeout=10, check=False)
    except ContainerKitError:
        return None
    value = result.stdout.strip()
    return value if result.returncode == 0 and value else None


async def oci_labels(root: Path, *, version: str | None, now: dt.datetime | None = None) -> dict[str, str]:
    """``source`` (git remote without credentials, else the path), ``revision``, ``created``, ``version``.

    ``created`` is the commit time of ``revision`` when the source is a git checkout, so rebuilding an
    unchanged commit reuses every cached layer (see ADR 0042); otherwise the build time.
    """
    remote = await _git(root, "config", "--get", "remote.origin.url")
    revision = await _git(root, "rev-parse", "HEAD")
    committed = await _git(root, "log", "-1", "--format=%cI") if revision else None
    created = _created(committed, now)
    labels = {
        PREFIX + "source": _CREDENTIALS_IN_URL.sub("", remote) if remote else str(root),
        PREFIX + "created": created,
    }
    if revision:
        labels[PREFIX + "revision"] = revision
    if version:
        labels[PREFIX + "version"] = version
    return labels


def _created(committed: str | None, now: dt.datetime | None) -> str:
    when = now or dt.datetime.now(dt.UTC)
    if committed:
        with contextlib.suppress(ValueError):
            when = dt.datetime.fromisoformat(committed).astimezone(dt.UTC)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")
