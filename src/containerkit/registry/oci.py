"""A daemonless client for the OCI distribution API (httpx, async).

Checks tags and digests, lists tags, reads and writes manifests (remote retag without
pulling), with the registry auth flows: HTTP Basic, and Bearer tokens obtained from the
realm named in ``WWW-Authenticate: Bearer realm=...,service=...,scope=...``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from containerkit import tracing
from containerkit.errors import NetworkError, NotFoundError, RegistryAuthError, RegistryError, parse_retry_after
from containerkit.imageref import DOCKER_HUB, ImageReference, is_insecure
from containerkit.redaction import register_secret
from containerkit.registry.credentials import Credentials

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="?next"?')


@dataclass(frozen=True)
class Manifest:
    body: bytes
    media_type: str
    digest: str


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="..."`` -> ("bearer", {"realm": ..., "service": ...})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), {k.lower(): v for k, v in _CHALLENGE_PARAM.findall(rest)}


class OciClient:
    """One registry; ``credentials`` may be None (anonymous). ``transport`` is injectable for tests."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None = None,
        *,
        insecure: Iterable[str] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.registry = registry
        self.credentials = credentials
        host = "registry-1.docker.io" if registry == DOCKER_HUB else registry
        scheme = "http" if is_insecure(registry, insecure) else "https"
        self.base_url = f"{scheme}://{host}"
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=True)
        self._tokens: dict[str, str] = {}
        self.requests = 0  # how many HTTP requests were made (tests assert on retries)

    async def __aenter__(self) -> OciClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # public API ----------------------------------------------------------------------------
    async def manifest_digest(self, ref: ImageReference) -> str | None:
        """The digest of a tag (or digest) via HEAD; None when the tag does not exist."""
        response = await self._request(
            "HEAD",
            ref.repository,
            f"/manifests/{ref.tag_or_digest}",
            "pull",
            headers={"Accept": ACCEPT},
            allow_404=True,
        )
        if response.status_code == 404:
            return None
        digest = response.headers.get("Docker-Content-Digest")
        return str(digest) if digest else None

    async def get_manifest(self, ref: ImageReference) -> Manifest:
        """Raises: NotFoundError when the tag/digest does not exist."""
        response = await self._request(
            "GET", ref.repository, f"/manifests/{ref.tag_or_digest}", "pull", headers={"Accept": ACCEPT}, allow_404=True
        )
        if response.status_code == 404:
            raise NotFoundError(
                f"{ref.canonical} does not exist in {self.registry}",
                hint="List the tags with {tool:registry_tags REPO}.",
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Manifest(response.content, media_type, response.headers.get("Docker-Content-Digest", ""))

    async def put_manifest(self, repository: str, tag: str, manifest: Manifest) -> str:
        """PUT a manifest under a tag; returns the digest the registry reports."""
        response = await self._request(
            "PUT",
            repository,
            f"/manifests/{tag}",
            "pull,push",
            headers={"Content-Type": manifest.media_type},
            content=manifest.body,
        )
        return str(response.headers.get("Docker-Content-Digest", manifest.digest))

    async def list_tags(self, repository: str, *, page_size: int = 1000) -> list[str]:
        """Every tag (following ``Link: <...>; rel="next"`` pagination); [] for an unknown repository."""
        tags: list[str] = []
        path = f"/tags/list?n={page_size}"
        while path:
            response = await self._request("GET", repository, path, "pull", allow_404=True)
            if response.status_code == 404:
                return tags
            tags.extend(response.json().get("tags") or [])
            link = _NEXT_LINK.search(response.headers.get("Link", ""))
            path = ""
            if link:
                nxt = link.group(1)
                path = nxt.split(f"/v2/{repository}", 1)[1] if f"/v2/{repository}" in nxt else ""
        return tags

    async def retag(self, source: ImageReference, new_tag: str) -> str:
        """Put the manifest of ``source`` under ``new_tag`` in the same repository (no layers move)."""
        manifest = await self.get_manifest(source)
        return await self.put_manifest(source.repository, new_tag, manifest)

    # transport and auth ------------------------------------------------------------------------
    async def _request(
        self,
        method: str,
        repository: str,
        path: str,
        actions: str,
        *,
        allow_404: bool = False,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        url = f"{self.base_url}/v2/{repository}{path}"
        scope = f"repository:{repository}:{actions}"
        hdrs = dict(headers or {})
        auth = self._auth_header(scope)
        if auth:
            hdrs["Authorization"] = auth
        response = await self._send(method, url, hdrs, content)
        if response.status_code == 401:
            await self._authenticate(response, scope)
            hdrs["Authorization"] = self._auth_header(scope) or ""
            response = await self._send(method, url, hdrs, content)
        return self._check(response, method, repository, allow_404)

    async def _send(self, method: str, url: str, headers: dict[str, str], content: bytes | None) -> httpx.Response:
        self.requests += 1
        try:
            with tracing.span(f"registry {method}", client=True, registry=self.registry, http_method=method):
                return await self._client.request(method, url, headers=headers, content=content)
        except httpx.TransportError as e:
            raise NetworkError(
                f"registry {self.registry} is unreachable: {type(e).__name__}: {e}", details={"registry": self.registry}
            ) from e

    def _auth_header(self, scope: str) -> str | None:
        if scope in self._tokens:
            return self._tokens[scope]
        return None

    async def _authenticate(self, response: httpx.Response, scope: str) -> None:
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic":
            if self.credentials is None:
                raise self._auth_error("requires credentials", logged_in=False)
            user, password = self.credentials.basic()
            encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
            register_secret(encoded)
            self._tokens[scope] = f"Basic {encoded}"
            return
        if scheme == "bearer" and params.get("realm"):
            self._tokens[scope] = f"Bearer {await self._fetch_token(params, scope)}"
            return
        raise RegistryError(f"registry {self.registry} sent an unsupported auth challenge {scheme!r}", retryable=False)

    async def _fetch_token(self, params: dict[str, str], scope: str) -> str:
        query = {"scope": params.get("scope") or scope}
        if params.get("service"):
            query["service"] = params["service"]
        auth = (
            httpx.BasicAuth(*self.credentials.basic())
            if self.credentials and not self.credentials.identity_token
            else None
        )
        self.requests += 1
        try:
            response = await self._client.get(params["realm"], params=query, auth=auth)
        except httpx.TransportError as e:
            raise NetworkError(f"token service {params['realm']} is unreachable: {e}") from e
        if response.status_code in (401, 403):
            raise self._auth_error(
                "refused the credentials at the token service", logged_in=self.credentials is not None
            )
        if response.status_code >= 400:
            raise RegistryError(f"token service {params['realm']} answered {response.status_code}")
        data = response.json()
        token = data.get("token") or data.get("access_token")
        if not token:
            raise RegistryError(f"token service {params['realm']} returned no token", retryable=False)
        register_secret(str(token))
        return str(token)

    def _auth_error(self, what: str, *, logged_in: bool) -> RegistryAuthError:
        hint = (
            f"Check the username and password for {self.registry}."
            if logged_in
            else f"Log in: `docker login {self.registry}`, or pass --username with --password-stdin."
        )
        return RegistryAuthError(f"registry {self.registry} {what}", hint=hint, details={"registry": self.registry})

    def _check(self, response: httpx.Response, method: str, repository: str, allow_404: bool) -> httpx.Response:
        status = response.status_code
        if status < 300 or (status == 404 and allow_404):
            return response
        if status in (401, 403):
            raise self._auth_error(
                f"denied {method} on {repository} (HTTP {status})", logged_in=self.credentials is not None
            )
        if status == 404:
            raise NotFoundError(f"{repository} not found in {self.registry}")
        body = response.text[:300] if method != "HEAD" else ""
        raise RegistryError(
            f"registry {self.registry} answered {status} to {method} {repository}: {body}",
            retryable=status >= 500 or status == 429,
            details={"status": status},
            retry_after_s=parse_retry_after(response.headers.get("retry-after")),
        )
