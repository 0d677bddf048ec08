"""OAuth 2.1 / OIDC bearer tokens for the HTTP transport, as the MCP authorization specification describes.

A token is a JWT the issuer signed: its signature is checked against the issuer's JWKS (found through the issuer's
``/.well-known/openid-configuration`` unless ``oidc_jwks_url`` names it), then its issuer, audience and expiry. Its
scopes say which tools the caller may see and call:

- ``containerkit`` — every tool;
- ``containerkit:read`` — the tools that change nothing;
- ``containerkit:<toolset>`` — the tools of that toolset (analysis, build, scan, k8s, workflow, sessions).

The server publishes its protected-resource metadata (RFC 9728) at ``/.well-known/oauth-protected-resource``, and a
401 names it in ``WWW-Authenticate``, so a client finds the authorization server by itself.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any

import anyio

SCOPE_ALL = "containerkit"
SCOPE_READ = "containerkit:read"
#: how far a clock may be off: a token is still good this long after its ``exp``, and good this long before ``nbf``
LEEWAY_S = 5
_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class TokenRejectedError(Exception):
    """The token is not good: the message says why (it goes to the client in ``error_description``)."""


@dataclass(frozen=True)
class Grant:
    """What a request may do: ``scopes`` of its token (None: the static token, every tool)."""

    scopes: frozenset[str] | None
    subject: str | None = None


class OidcVerifier:
    def __init__(self, issuer: str, audience: str, jwks_url: str | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self._jwks_url = jwks_url
        self._client: Any = None
        self._lock = threading.Lock()

    def _jwks_client(self) -> Any:
        import jwt

        with self._lock:
            if self._client is None:
                url = self._jwks_url or self._discover()
                self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=10)
            return self._client

    def _discover(self) -> str:
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the configured issuer's URL
                config = json.load(answer)
        except (OSError, ValueError) as e:
            raise TokenRejectedError(f"cannot read the issuer's configuration at {url}: {e}") from e
        jwks = config.get("jwks_uri")
        if not isinstance(jwks, str):
            raise TokenRejectedError(f"the issuer's configuration at {url} names no jwks_uri")
        return jwks

    def verify_blocking(self, token: str) -> Grant:
        import jwt

        try:
            key = self._jwks_client().get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=_ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as e:
            raise TokenRejectedError("the token has expired") from e
        except jwt.InvalidAudienceError as e:
            raise TokenRejectedError(f"the token is not for this server (audience {self.audience!r} expected)") from e
        except jwt.InvalidIssuerError as e:
            raise TokenRejectedError(f"the token was not issued by {self.issuer}") from e
        except jwt.PyJWKClientError as e:
            raise TokenRejectedError(f"the token's signing key is not the issuer's: {e}") from e
        except jwt.InvalidTokenError as e:
            raise TokenRejectedError(f"the token is not valid: {e}") from e
        raw = claims.get("scope", claims.get("scp", ""))
        scopes = raw.split() if isinstance(raw, str) else [str(s) for s in raw or []]
        return Grant(frozenset(scopes), str(claims.get("sub") or "") or None)

    async def verify(self, token: str) -> Grant:
        return await anyio.to_thread.run_sync(self.verify_blocking, token)


def resource_metadata(resource: str, issuer: str, toolsets: list[str]) -> dict[str, Any]:
    """RFC 9728 protected-resource metadata of the MCP endpoint."""
    return {
        "resource": resource,
        "authorization_servers": [issuer],
        "scopes_supported": [SCOPE_ALL, SCOPE_READ, *(f"{SCOPE_ALL}:{t}" for t in toolsets)],
        "bearer_methods_supported": ["header"],
        "resource_name": "Container Kit",
    }
