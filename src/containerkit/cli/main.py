"""The `containerkit` command. Each ``commands_*.py`` module adds its commands and groups via ``register(app)``.

The entry point builds a tree holding only the module of the command being run (``containerkit analyze`` imports
no scan, Kubernetes or workflow code); ``--help``, an unknown command and ``app`` (tests, docs) get all of them.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import typer

from containerkit import __version__

#: the top-level commands and groups each module registers (tests/core/test_cli.py keeps it equal to register())
COMMANDS: dict[str, str] = {
    "analyze": "commands_analyze",
    "cluster": "commands_cluster",
    "containerize": "commands_containerize",
    "containerize-many": "commands_containerize",
    "deploy": "commands_deploy",
    "verify": "commands_deploy",
    "dockerfile": "commands_dockerfile",
    "lint": "commands_dockerfile",
    "build": "commands_engine",
    "inspect": "commands_engine",
    "pull": "commands_engine",
    "push": "commands_engine",
    "tag": "commands_engine",
    "registry": "commands_engine",
    "manifests": "commands_manifests",
    "smoke": "commands_sandbox",
    "sandbox": "commands_sandbox",
    "scan": "commands_scan",
    "scan-secrets": "commands_scan",
    "db": "commands_scan",
    "serve": "commands_serve",
    "sbom": "commands_scan",
    "status": "commands_sessions",
    "config": "commands_sessions",
    "jobs": "commands_sessions",
    "sessions": "commands_sessions",
    "workflow": "commands_workflow",
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"containerkit {__version__}")
        raise typer.Exit()


def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    log_format: str = typer.Option(
        None, "--log-format", help="Logs on stderr: text or json (one object per line). CONTAINERKIT_LOG_FORMAT."
    ),
    log_level: str = typer.Option(
        None, "--log-level", help="debug, info, warning (default) or error. CONTAINERKIT_LOG_LEVEL."
    ),
) -> None:
    """Container Kit."""
    # read by the settings when the app is built (after this callback): the options win over the environment
    for value, variable, allowed in (
        (log_format, "CONTAINERKIT_LOG_FORMAT", ("text", "json")),
        (log_level, "CONTAINERKIT_LOG_LEVEL", ("debug", "info", "warning", "error")),
    ):
        if value is None:
            continue
        if value.lower() not in allowed:
            option = "--log-format" if variable.endswith("FORMAT") else "--log-level"
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}", param_hint=option)
        os.environ[variable] = value.upper() if variable.endswith("LEVEL") else value.lower()


def command_modules() -> list[str]:
    import containerkit.cli as pkg

    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("commands_"))


def build(modules: list[str] | None = None) -> typer.Typer:
    """The command tree with the commands of ``modules`` (all of them when None)."""
    from containerkit.cli.runner import track_json_option

    tree = typer.Typer(
        name="containerkit",
        help="Container Kit: analyze, Dockerfile, build, smoke test, scan, push and deploy — the same tools as the MCP "
        "server.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    tree.callback()(main)
    for module in command_modules() if modules is None else modules:
        importlib.import_module(f"containerkit.cli.{module}").register(tree)
    track_json_option(tree)
    return tree


def modules_for(argv: list[str]) -> list[str] | None:
    """The module of the command ``argv`` runs, or None (all) for help, an unknown command or none."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    return [COMMANDS[command]] if command in COMMANDS else None


def __getattr__(name: str) -> typer.Typer:  # ``app``: the whole command tree, built when first asked for
    if name == "app":
        tree = build()
        globals()["app"] = tree
        return tree
    raise AttributeError(name)


def run() -> None:
    from containerkit.cli.runner import install_signal_handlers

    install_signal_handlers()
    argv = sys.argv[1:]
    tree = build(modules_for(argv))
    if "--json" not in (argv[: argv.index("--")] if "--" in argv else argv):  # after --: the sandboxed command's
        tree()
        return
    # with --json, a command line the parser refuses (a bad option value, an unknown option, a missing argument) is an
    # error document on stdout too, like every error a command reports
    from containerkit.cli.runner import usage_failure

    try:
        status = tree(standalone_mode=False)
    except typer.TyperException as e:  # click's usage and parameter errors
        usage_failure(e)
    except typer.Abort:
        print("Aborted!", file=sys.stderr)
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)
