"""Digest pinning of base images: resolve `image:tag` to `image:tag@sha256:…` over the registry API."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # httpx is imported when a digest is resolved: rendering a Dockerfile needs only split()
    import httpx

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def split(image: str) -> tuple[str, str, str]:
    """(registry host, repository, tag) with Docker Hub defaults."""
    name, _, tag = image.partition("@")[0].rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        host, repo = name.split("/", 1)
    else:
        host, repo = "registry-1.docker.io", name if "/" in name else f"library/{name}"
    return host, repo, tag or "latest"


async def resolve_digest(image: str, insecure: Callable[[str], bool], timeout: float = 10.0) -> str:
    """The manifest digest of ``image``; raises httpx.HTTPError (or ValueError) when it cannot be resolved."""
    import httpx

    host, repo, tag = split(image)
    scheme = "http" if insecure(host) else "https"
    url = f"{scheme}://{host}/v2/{repo}/manifests/{tag}"
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
        response = await client.head(url, headers={"Accept": ACCEPT})
        if response.status_code == 401:
            token = await _anonymous_token(client, response.headers.get("www-authenticate", ""))
            response = await client.head(url, headers={"Accept": ACCEPT, "Authorization": f"Bearer {token}"})
        response.raise_for_status()
        digest = str(response.headers.get("docker-content-digest", ""))
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise ValueError(f"the registry returned no digest for {image}")
    return digest


async def _anonymous_token(client: httpx.AsyncClient, challenge: str) -> str:
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    realm = params.pop("realm", None)
    if not realm:
        raise ValueError("the registry asked for authentication without a Bearer realm")
    response = await client.get(realm, params=params)
    response.raise_for_status()
    data = response.json()
    return str(data.get("token") or data.get("access_token") or "")


async def pin_from_lines(text: str, insecure: Callable[[str], bool]) -> tuple[str, list[str]]:
    """Pin every FROM image:tag in ``text``. Returns the new text and warnings for images left unpinned."""
    import httpx

    warnings: list[str] = []
    lines = text.splitlines()
    aliases = {m.group(1) for line in lines if (m := re.match(r"^FROM\s+\S+\s+AS\s+(\S+)", line, re.I))}
    for index, line in enumerate(lines):
        match = re.match(r"^(FROM\s+)(\S+)(.*)$", line, re.I)
        if not match or "@sha256:" in match.group(2) or match.group(2) in aliases or match.group(2) == "scratch":
            continue
        image = match.group(2)
        try:
            digest = await resolve_digest(image, insecure)
        except (httpx.HTTPError, ValueError) as e:
            warnings.append(
                f"{image}: not pinned, the registry is unreachable or refused ({type(e).__name__}: {str(e)[:120]})"
            )
            continue
        lines[index] = f"{match.group(1)}{image}@{digest}{match.group(3)}"
    return "\n".join(lines) + "\n", warnings
