"""The `containerkit` command (:mod:`containerkit.cli.main`); :func:`run` is its entry point."""

from __future__ import annotations

import sys


def run() -> None:
    """`containerkit --version` answers before the command tree is imported; everything else goes to typer."""
    if sys.argv[1:] == ["--version"]:
        from containerkit import __version__

        sys.stdout.write(f"containerkit {__version__}\n")
        return
    from containerkit.cli.main import run as run_command

    run_command()
