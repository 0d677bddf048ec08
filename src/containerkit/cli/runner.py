"""Run one tool from the CLI: progress display, JSON or rich output, error -> exit code.

Every command calls :func:`invoke`; ``--json`` prints exactly the tool's result
model. Errors print one line plus the hint to stderr and exit with the error's
``exit_code`` (2 for usage errors, 3 for policy violations, 1 otherwise).
"""

from __future__ import annotations

import contextvars
import functools
import json
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Never, NoReturn, Protocol, TypeVar, cast, overload

import anyio
import typer

from containerkit.errors import (
    CancelledError_,
    ContainerKitError,
    InvalidInputError,
    JSONValue,
    exit_status,
    wrap_unexpected,
)
from containerkit.hints import render_data, render_hint
from containerkit.redaction import redact, redact_data

if TYPE_CHECKING:  # the app (settings, store, registry) is built by the first command that runs a tool
    from rich.console import Console
    from rich.progress import Progress

    from containerkit.app import App
    from containerkit.tools import ToolResult

RT = TypeVar("RT", bound="ToolResult")
#: prints a tool's result for people: each command's renderer takes its tool's own result type
Renderer = Callable[["Console", RT], None]


class LiveView(Protocol):
    def __enter__(self) -> LiveView: ...
    def __exit__(self, *exc: object) -> None: ...
    async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None: ...


LiveFactory = Callable[["Console"], LiveView]

# Everything printed comes from data somewhere (paths, messages, log tails): never read as rich markup, emoji codes
# or highlighting (``[x]`` vanished, ``root:x:0`` became an emoji, a ``[/`` in a path raised). Styles are applied as
# :class:`rich.text.Text` pieces only.
# They are made when first used (``serve`` prints nothing with them unless it fails, and imports no rich).
_consoles: dict[str, Console] = {}


def out_console(stderr: bool = False) -> Console:
    key = "err" if stderr else "out"
    if key not in _consoles:
        from rich.console import Console

        _consoles[key] = Console(stderr=stderr, markup=False, emoji=False, highlight=False)
    return _consoles[key]


def __getattr__(name: str) -> Console:  # ``console`` and ``err_console`` for the command modules
    if name in ("console", "err_console"):
        return out_console(stderr=name == "err_console")
    raise AttributeError(name)


_app: App | None = None

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as shells report it


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI job cancelled, `kill PID`): handled like Ctrl-C, so the running tool stops and cleans up."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def install_signal_handlers() -> None:
    """SIGTERM cancels the running tool like Ctrl-C does. (Ctrl-C itself keeps Python's own handling; a shell that
    started us with SIGINT ignored, as it does for background jobs, keeps it ignored.)"""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


def get_app() -> App:
    global _app
    if _app is None:
        from containerkit.app import build_app

        try:
            _app = build_app()
        except ContainerKitError as e:
            fail(e)
    return _app


def set_app(app: App | None) -> None:
    """Tests inject an app built from their own settings/services."""
    global _app
    _app = app


class TerminalDecider:
    """Asks on the terminal (the CLI run by a person): the same questions an MCP client gets as elicitations."""

    async def confirm(self, param: str, question: str) -> bool:
        prompt = f"{redact(question)} [y/N] (--{param.replace('_', '-')} skips this question) "

        def ask() -> str:
            sys.stderr.write(prompt)
            sys.stderr.flush()
            return sys.stdin.readline()

        return (await anyio.to_thread.run_sync(ask)).strip().lower() in ("y", "yes")


class RichProgress:
    """Progress reporter drawing a rich progress bar on stderr (only on a terminal)."""

    def __init__(self, bar: Progress, title: str) -> None:
        self._bar = bar
        self._task = bar.add_task(title, total=None)

    async def report(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        self._bar.update(
            self._task, completed=progress, total=total, description=message or self._bar.tasks[0].description
        )


#: the running command was given ``--json`` (set around every command by :func:`track_json_option`)
JSON_MODE: contextvars.ContextVar[bool] = contextvars.ContextVar("containerkit_json_mode", default=False)


def json_requested() -> bool:
    return JSON_MODE.get()


def track_json_option(app: typer.Typer) -> None:
    """Wrap every command of ``app`` (and its groups) so :func:`fail` knows whether ``--json`` was given, even for
    errors raised before the tool runs (bad option values, unreadable password files)."""
    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "_ck_json", False):
            info.callback = _tracking(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            track_json_option(group.typer_instance)


def _tracking(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def command(*args: Any, **kwargs: Any) -> Any:
        token = JSON_MODE.set(bool(kwargs.get("as_json")))
        try:
            return fn(*args, **kwargs)
        finally:
            JSON_MODE.reset(token)

    command._ck_json = True  # type: ignore[attr-defined]
    return command


def error_document(err: ContainerKitError) -> dict[str, JSONValue]:
    """The JSON error document of ``--json``: ``{"error": {code, message, hint, retryable, details}}``, redacted."""
    data = render_data(redact_data(err.to_dict()), "cli")
    return {"error": {key: data[key] for key in ("code", "message", "hint", "retryable", "details")}}


def key_values(pairs: list[str], option: str, example: str) -> dict[str, str]:
    """Repeated ``KEY=VALUE`` options, values verbatim (an environment holds strings: ``01`` and ``yes`` stay as
    written); a pair without ``=`` or without a key is a usage error naming the option."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(
                InvalidInputError(
                    f"{option} {pair!r} is not KEY=VALUE with a non-empty KEY", hint=f"Example: {example}"
                )
            )
        out[key] = value
    return out


def usage_failure(error: typer.TyperException) -> NoReturn:
    """A command line the parser refused while ``--json`` was given: the error document on stdout, typer's own message
    on stderr, click's exit status (2 for usage errors)."""
    context = getattr(error, "ctx", None)
    command = getattr(context, "command_path", None) or "containerkit"
    format_message = getattr(error, "format_message", None)
    message = format_message() if callable(format_message) else error.message
    print_json(error_document(InvalidInputError(str(message), hint=f"See `{command} --help`.")))
    show = getattr(error, "show", None)
    if callable(show):
        from typer import rich_utils

        rich_utils.rich_format_error(error)  # type: ignore[arg-type]  # a click exception: it has show()
    sys.exit(error.exit_code)


def fail(error: BaseException) -> NoReturn:
    """Report an error and exit with its exit code. With ``--json`` the error document goes to stdout as well, so a
    pipeline that reads stdout gets a document whatever the exit code."""
    from rich.text import Text

    err = wrap_unexpected(error)
    if json_requested():
        print_json(error_document(err))
    out_console(stderr=True).print(
        Text.assemble(("error", "bold red"), f" [{err.code}] {redact(err.message)}"), soft_wrap=True
    )
    if err.hint:
        out_console(stderr=True).print(
            Text.assemble(("hint:", "yellow"), f" {render_hint(redact(err.hint), 'cli')}"), soft_wrap=True
        )
    tail = err.details.get("tail") or err.details.get("log_tail")
    if isinstance(tail, str) and tail.strip():
        out_console(stderr=True).print(redact(tail.strip()[-1500:]), soft_wrap=True)
    raise typer.Exit(code=exit_status(err) if isinstance(error, ContainerKitError) else 1)


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@overload
def invoke(
    tool: str,
    params: Mapping[str, object],
    *,
    as_json: bool,
    render: Renderer[RT],
    progress_title: str | None = None,
    live: LiveFactory | None = None,
    on_error: Callable[[ContainerKitError], None] | None = None,
    quiet: bool = False,
) -> RT: ...


@overload
def invoke(
    tool: str,
    params: Mapping[str, object],
    *,
    as_json: bool,
    render: None = None,
    progress_title: str | None = None,
    live: LiveFactory | None = None,
    on_error: Callable[[ContainerKitError], None] | None = None,
    quiet: bool = False,
) -> ToolResult: ...


def invoke(
    tool: str,
    params: Mapping[str, object],
    *,
    as_json: bool,
    render: Callable[[Console, Never], None] | None = None,  # any renderer: the overloads pair it with its result
    progress_title: str | None = None,
    live: LiveFactory | None = None,
    on_error: Callable[[ContainerKitError], None] | None = None,
    quiet: bool = False,
) -> ToolResult:
    """Call a tool and print its result. Never returns on error (exits).

    ``live`` builds a context-managed progress view (e.g. the workflow step table) used instead of the bar;
    ``on_error`` may print more about an error (e.g. the steps of a failed run) before the error line.
    ``quiet`` prints nothing on success (the caller prints a document of its own).
    """
    app = get_app()
    interactive = not as_json and out_console(stderr=True).is_terminal
    decider = TerminalDecider() if interactive and sys.stdin.isatty() else None
    show_bar = interactive and progress_title is not None and live is None

    async def run() -> ToolResult:
        if interactive and live is not None:
            with live(out_console(stderr=True)) as view:
                return await app.registry.call(app.services, tool, params, progress=view, decider=decider)
        if show_bar:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                TimeElapsedColumn(),
                console=out_console(stderr=True),
                transient=True,
            ) as bar:
                return await app.registry.call(
                    app.services, tool, params, progress=RichProgress(bar, progress_title or tool), decider=decider
                )
        return await app.registry.call(app.services, tool, params, decider=decider)

    try:
        result = anyio.run(run)
    except KeyboardInterrupt as e:
        from rich.text import Text

        terminated = isinstance(e, Terminated)
        out_console(stderr=True).print(Text("terminated" if terminated else "interrupted", "red"))
        fail_code = CancelledError_(f"{tool} was {'terminated (SIGTERM)' if terminated else 'interrupted'}")
        out_console(stderr=True).print(f"[{fail_code.code}] {fail_code.message}")
        if as_json:
            print_json(error_document(fail_code))
        raise typer.Exit(code=EXIT_TERMINATED if terminated else EXIT_INTERRUPTED) from None
    except ContainerKitError as e:
        if on_error is not None:
            on_error(e)
        fail(e)
    except Exception as e:  # never a traceback for users
        fail(e)
    result = type(result).model_validate(render_data(result.model_dump(mode="json"), "cli"))
    if quiet:
        return result
    if as_json:
        print_json(result.model_dump(mode="json"))
    elif render is not None:
        cast("Renderer[ToolResult]", render)(out_console(), result)  # the tool's own result, as the overload says
    else:
        default_render(out_console(), result)
    return result


def default_render(out: Console, result: ToolResult) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=False, box=None)
    for key, value in result.model_dump(mode="json").items():
        if value in ("", None, [], {}):
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        table.add_row(Text(key, "bold"), text if len(text) < 400 else text[:400] + " …")
    out.print(table)
