"""`containerkit serve`: the MCP server over stdio (default) or streamable HTTP."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import anyio
import typer

from containerkit.cli.runner import fail, get_app
from containerkit.errors import ContainerKitError


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        transport: str = typer.Option("stdio", "--transport", "-t", help="stdio or http."),
        host: str = typer.Option("127.0.0.1", "--host", help="HTTP bind address (non-loopback requires a token)."),
        port: int = typer.Option(8765, "--port", help="HTTP port."),
        token_file: Path = typer.Option(None, "--token-file", help="File holding the bearer token for HTTP."),
        toolsets: str = typer.Option(
            None,
            "--toolsets",
            help="Serve only these toolsets, comma-separated: analysis, build, "
            "scan, k8s, workflow, sessions (default: all).",
        ),
        read_only: bool = typer.Option(False, "--read-only", help="List and run only the tools that change nothing."),
        metrics_port: int = typer.Option(
            None, "--metrics-port", help="Serve Prometheus metrics on this port (/metrics); off when not given."
        ),
        metrics_host: str = typer.Option(
            "127.0.0.1", "--metrics-host", help="Bind address of the metrics endpoint (loopback unless you say so)."
        ),
    ) -> None:
        """Run the MCP server (for Claude Desktop, VS Code and other MCP clients)."""
        from containerkit.app import build_app
        from containerkit.mcp.server import Exposure, LazyApp
        from containerkit.mcp.transports import as_server, check_bind, resolve_token, serve_http, serve_stdio

        logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        try:
            exposure = Exposure.parse(toolsets, read_only)
            if metrics_port is not None:
                _serve_metrics(metrics_host, metrics_port)
            if transport == "stdio":  # settings and store are read by the first request that needs them
                lazy = LazyApp(build_app)
                try:
                    anyio.run(serve_stdio, lazy, exposure)
                finally:
                    if lazy.built is not None and lazy.built.services.store_opened:
                        lazy.built.services.store.close()
            elif transport == "http":
                ck = as_server(get_app())
                token = resolve_token(ck, token_file)
                check_bind(host, token, ck.settings.mcp.oidc_issuer is not None)
                print(
                    f"containerkit MCP server on http://{host}:{port}/mcp"
                    + (" (bearer token required)" if token else ""),
                    file=sys.stderr,
                    flush=True,
                )
                # uvicorn turns SIGTERM/SIGINT into a graceful shutdown and raises the signal again afterwards: that
                # second delivery must not interrupt the shutdown (it was a 67-line traceback and exit 1)
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, lambda signum, frame: None)
                try:
                    anyio.run(serve_http, ck, host, port, token, exposure)
                finally:
                    if ck.services.store_opened:
                        ck.services.store.close()
                print("containerkit MCP server stopped", file=sys.stderr, flush=True)
            else:
                raise typer.BadParameter("transport must be stdio or http", param_hint="--transport")
        except ContainerKitError as e:
            fail(e)
        except KeyboardInterrupt:
            raise typer.Exit(code=0) from None


def _serve_metrics(host: str, port: int) -> None:
    """Start /metrics (a daemon thread) before the MCP transport; the active-session gauge reads the store when
    Prometheus scrapes."""
    from containerkit import metrics
    from containerkit.errors import InvalidInputError

    def sessions() -> float:
        return float(get_app().services.store.active_sessions())

    from containerkit.tools import REGISTRY

    metrics.enable(sessions=sessions, tools=REGISTRY.names())
    try:
        bound = metrics.serve(host, port)
    except OSError as e:
        raise InvalidInputError(
            f"cannot serve metrics on {host}:{port}: {e.strerror or e}",
            hint="Choose a free port with --metrics-port (or --metrics-host for another address).",
        ) from e
    print(f"containerkit metrics on http://{host}:{bound}/metrics", file=sys.stderr, flush=True)
