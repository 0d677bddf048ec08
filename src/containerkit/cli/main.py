"""The `containerkit` command. Each ``commands_*.py`` module adds its group via ``register(app)``."""

from __future__ import annotations

import importlib
import pkgutil

import typer

from containerkit import __version__

app = typer.Typer(
    name="containerkit",
    help="Container Kit: analyze, Dockerfile, build, smoke test, scan, push and deploy — the same tools as the MCP server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"containerkit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Container Kit."""


def _load_commands() -> None:
    import containerkit.cli as pkg

    for module in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)):
        if module.startswith("commands_"):
            importlib.import_module(f"containerkit.cli.{module}").register(app)




def _track_json() -> None:
    from containerkit.cli.runner import track_json_option

    track_json_option(app)


_load_commands()
_track_json()


def run() -> None:
    from containerkit.cli.runner import install_signal_handlers

    install_signal_handlers()
    app()
