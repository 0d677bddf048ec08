"""stdio and streamable-HTTP transports for the MCP server, with bearer-token auth for HTTP."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from pathlib import Path
from typing import Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecuritySettings

from containerkit import logs
from containerkit.app import App
from containerkit.errors import ConfigError, ContainerKitError
from containerkit.mcp.oidc import Grant, OidcVerifier, TokenRejectedError, resource_metadata
from containerkit.mcp.server import TOOLSETS, Exposure, InFlight, LazyApp, build_server
from containerkit.redaction import register_secret

ASGIApp = Any
log = logging.getLogger("containerkit.mcp")


async def serve_stdio(app: App | LazyApp, exposure: Exposure | None = None) -> None:
    """Serve on stdin/stdout until the client closes them. With a :class:`LazyApp` the handshake is answered before
    settings are read and the store is opened (the first request that needs them does it)."""
    server = build_server(app, exposure=exposure)
    lazy = app if isinstance(app, LazyApp) else LazyApp(lambda: app)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_sweeper, lazy)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
        tg.cancel_scope.cancel()


#: seconds after start-up before the first sweep: the client's initialize and first calls come first
FIRST_SWEEP_S = 10.0


async def _sweeper(app: App | LazyApp) -> None:
    """Periodically remove expired sessions and their workspaces."""
    await anyio.sleep(FIRST_SWEEP_S)
    if isinstance(app, LazyApp):
        try:
            app = app()
        except ContainerKitError as e:  # each request reports it; nothing to sweep without a store
            log.warning("not sweeping expired sessions: %s", e.message)
            return
    while True:
        await anyio.to_thread.run_sync(app.services.store.sweep)
        await anyio.sleep(app.settings.store.sweep_interval_s)


#: seconds after start-up before the first look for runs to take over (a replica started after a crash looks soon)
FIRST_TAKEOVER_S = 1.0


def as_server(app: App) -> App:
    """The app of an HTTP server, one of possibly several on a shared store: the workflow runs it starts are held
    under a lease (``workflow.lease_s``) that another server takes over when it lapses. (A stdio server belongs to one
    client: a run it leaves behind is failed and resumable, as a CLI run is — never continued unasked.)"""
    app.services.run_lease_s = app.settings.workflow.lease_s
    return app


async def _take_over(app: App) -> None:
    """Every third of a lease, take over the runs whose server is gone (their lease lapsed, or their owner on this
    host died) and resume each from its first unfinished step."""
    await anyio.sleep(FIRST_TAKEOVER_S)
    lease_s = app.settings.workflow.lease_s
    async with anyio.create_task_group() as tg:
        while True:
            try:
                claimed = await anyio.to_thread.run_sync(app.services.store.runs.claim_lapsed, lease_s)
            except ContainerKitError as e:
                log.warning("could not look for workflow runs to take over: %s", e.message)
                claimed = []
            for run_id in claimed:
                log.warning("taking over workflow run %s: the server that ran it is gone", run_id)
                tg.start_soon(_resume_taken, app, run_id)
            await anyio.sleep(lease_s / 3)


async def _resume_taken(app: App, run_id: str) -> None:
    from containerkit.workflow.tools import takeover_runner

    with logs.bind(run=run_id):
        try:
            run = await takeover_runner(app.services, run_id).resume(run_id)
            log.warning("workflow run %s, taken over, ended %s", run_id, run.status)
        except ContainerKitError as e:
            log.warning("workflow run %s, taken over, failed: %s: %s", run_id, e.code, e.message)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(app: App, token_file: Path | None) -> str | None:
    """The bearer token from --token-file, CONTAINERKIT_MCP__AUTH_TOKEN_FILE or CONTAINERKIT_MCP__AUTH_TOKEN."""
    path = token_file or app.settings.mcp.auth_token_file
    token: str | None = None
    if path is not None:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(
                f"cannot read the token file {path}: {e.strerror}", hint="Check the path and its permissions."
            ) from e
        if not token:
            raise ConfigError(f"the token file {path} is empty")
    elif app.settings.mcp.auth_token is not None:
        token = app.settings.mcp.auth_token.get_secret_value()
    if token is not None:
        if len(token) < 16:
            raise ConfigError(
                "the MCP bearer token is shorter than 16 characters",
                hint="Use a long random token: `openssl rand -hex 32`.",
            )
        register_secret(token)
    return token


METADATA_PATH = "/.well-known/oauth-protected-resource"


class BearerAuth:
    """ASGI middleware: every HTTP request must carry ``Authorization: Bearer <token>`` — the static token
    (constant-time compare; the scheme is case-insensitive, RFC 9110 §11.1 / RFC 6750), or with OIDC configured a JWT
    of the issuer (:mod:`containerkit.mcp.oidc`), whose scopes go with the request to the MCP handlers. With OIDC,
    the protected-resource metadata is served unauthenticated and every 401 points to it."""

    def __init__(
        self,
        inner: ASGIApp,
        token: str | None,
        verifier: OidcVerifier | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.inner = inner
        self.expected = token.encode() if token else None
        self.verifier = verifier
        self.metadata = json.dumps(metadata).encode() if metadata else None
        self.metadata_url = f"{metadata['resource'].rsplit('/mcp', 1)[0]}{METADATA_PATH}" if metadata else None

    def _static(self, credentials: bytes) -> bool:
        return self.expected is not None and hmac.compare_digest(credentials, self.expected)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        if self.metadata is not None and scope.get("path", "").startswith(METADATA_PATH):
            await _send(send, 200, self.metadata, [])
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, credentials = header.strip().partition(b" ")
        credentials = credentials.strip()
        if scheme.lower() != b"bearer" or not credentials:
            await self._unauthorized(send, "invalid_request", "missing bearer token")
            return
        if self._static(credentials):
            grant = Grant(None)
        elif self.verifier is not None:
            try:
                grant = await self.verifier.verify(credentials.decode("ascii", "replace"))
            except TokenRejectedError as e:
                log.info("bearer token rejected: %s", e)
                await self._unauthorized(send, "invalid_token", str(e))
                return
        else:
            await self._unauthorized(send, "invalid_token", "wrong bearer token")
            return
        scope.setdefault("state", {})["containerkit_grant"] = grant
        await self.inner(scope, receive, send)

    async def _unauthorized(self, send: Any, error: str, description: str) -> None:
        challenge = f'Bearer realm="containerkit", error="{error}", error_description="{description}"'
        if self.metadata_url:
            challenge += f', resource_metadata="{self.metadata_url}"'
        body = json.dumps({"error": f"unauthorized: {description}"}).encode()
        await _send(send, 401, body, [(b"www-authenticate", challenge.encode())])


async def _send(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), *headers]}
    )
    await send({"type": "http.response.body", "body": body})


def oidc_of(app: App, host: str, port: int) -> tuple[OidcVerifier | None, dict[str, Any] | None]:
    """The OIDC verifier and the protected-resource metadata, when ``mcp.oidc_issuer`` is set."""
    mcp = app.settings.mcp
    if mcp.oidc_issuer is None:
        return None, None
    if not mcp.oidc_audience:
        raise ConfigError(
            "mcp.oidc_issuer is set without mcp.oidc_audience",
            hint="Set CONTAINERKIT_MCP__OIDC_AUDIENCE to the audience the issuer puts in this server's tokens.",
        )
    resource = mcp.public_url or f"http://{host}:{port}/mcp"
    verifier = OidcVerifier(mcp.oidc_issuer, mcp.oidc_audience, mcp.oidc_jwks_url)
    return verifier, resource_metadata(resource, mcp.oidc_issuer, list(TOOLSETS))


def rebinding_protection(host: str) -> TransportSecuritySettings | None:
    """DNS-rebinding protection for a loopback bind, whatever its form (127.0.0.0/8, ::1 written any way, localhost):
    only Host and Origin headers naming the machine itself pass. None for other binds, which require the token."""
    if not is_loopback(host):
        return None
    names = {"127.0.0.1", "localhost", "[::1]"}
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
        names |= {f"[{ip}]", f"[{host.strip('[]')}]"} if ip.version == 6 else {str(ip), host}
    except ValueError:
        names.add(host)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=sorted(f"{n}:*" for n in names) + sorted(names),
        allowed_origins=sorted(f"http://{n}:*" for n in names) + sorted(f"http://{n}" for n in names),
    )


def http_app(
    app: App,
    host: str,
    token: str | None,
    inflight: InFlight | None = None,
    exposure: Exposure | None = None,
    port: int = 0,
) -> ASGIApp:
    server = build_server(app, inflight, exposure)
    starlette = server.streamable_http_app(
        host=host, stateless_http=False, transport_security=rebinding_protection(host)
    )
    verifier, metadata = oidc_of(app, host, port)
    inner = BearerAuth(starlette, token, verifier, metadata) if token or verifier else starlette
    return Health(inner, app)


class Health:
    """``GET /healthz`` (the process serves: 200) and ``GET /readyz`` (and its store answers: 200, else 503 with the
    reason) without a token, for a load balancer in front of replicas and for Kubernetes probes. They say nothing but
    ``ok`` or the store error's code: no version, no paths."""

    def __init__(self, inner: ASGIApp, app: App) -> None:
        self.inner = inner
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == "/healthz":
            await _send(send, 200, b'{"status": "ok"}', [])
            return
        if path == "/readyz":
            try:
                await anyio.to_thread.run_sync(self.app.services.store.db.schema_version)
            except Exception as e:  # the store's driver errors too: a load balancer only needs "not ready"
                code = e.code if isinstance(e, ContainerKitError) else "STORE_ERROR"
                log.warning("not ready: the session store does not answer: %s", e)
                await _send(send, 503, json.dumps({"status": "unavailable", "code": code}).encode(), [])
                return
            await _send(send, 200, b'{"status": "ok"}', [])
            return
        await self.inner(scope, receive, send)


def check_bind(host: str, token: str | None, oidc: bool = False) -> None:
    if not is_loopback(host) and not token and not oidc:
        raise ConfigError(
            f"refusing to serve MCP over HTTP on non-loopback address {host} without a bearer token",
            hint="Set CONTAINERKIT_MCP__AUTH_TOKEN or CONTAINERKIT_MCP__AUTH_TOKEN_FILE (or --token-file), or bind "
            "127.0.0.1.",
        )


#: seconds in-flight calls get to finish after SIGTERM/SIGINT before they are cancelled (their jobs marked cancelled)
DRAIN_S = 5


async def serve_http(app: App, host: str, port: int, token: str | None, exposure: Exposure | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then drain: uvicorn stops accepting, gives in-flight calls DRAIN_S seconds and
    cancels the rest (each tool cleans up as on Ctrl-C). The caller closes the store and exits 0."""
    import uvicorn

    check_bind(host, token, app.settings.mcp.oidc_issuer is not None)
    inflight = InFlight()

    class _Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            inflight.cancel_all()  # running calls stop and answer CANCELLED, as the CLI's Ctrl-C does
            await super().shutdown(sockets)

    config = uvicorn.Config(
        http_app(app, host, token, inflight, exposure, port),
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=DRAIN_S,
    )
    server = _Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_sweeper, app)
        tg.start_soon(_take_over, app)
        await server.serve()
        tg.cancel_scope.cancel()
