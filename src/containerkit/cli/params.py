"""A command's options derived from its tool's ``Params`` model, so a new field is one edit, not two.

:func:`tool_options` decorates a command function. Each field of the model is, in this order of preference:

- written by hand in the function (same name, or named in ``given``: a positional argument, a ``--tag`` for ``tags``,
  ``--no-engine`` for ``check_engine``), when the CLI spells it differently from the model;
- left out on purpose, with the reason in ``without`` (a password never on the command line; for the reader and the
  test);
- otherwise an option derived here: ``--field-name`` (``session_id`` is ``--session``, ``timeout_s`` is
  ``--timeout``; a list or a KEY=VALUE mapping is a repeatable option named in the singular), its help the field's
  description, its type the field's type (a choice for a ``Literal``).

The function receives the derived options' values as ``derived``: only those given on the command line, so the tool's
own defaults apply to the rest. A field whose type has no command-line form (a nested model) and is neither given
nor left out is a ``TypeError`` when the command is built: ``tests/core/test_cli_params.py`` builds every command.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args, get_origin

import typer

from containerkit.cli.runner import key_values

if typing.TYPE_CHECKING:
    from pydantic.fields import FieldInfo

    from containerkit.tools import ToolParams

F = TypeVar("F", bound=Callable[..., None])

#: the option names the CLI has always used for fields every tool shares
OPTION_NAMES = {"session_id": "--session", "timeout_s": "--timeout"}
#: the name of the function parameter that receives the derived options' values
DERIVED = "derived"


@dataclass(frozen=True)
class ToolOptions:
    """What :func:`tool_options` recorded on a command: which fields are derived, written by hand, or left out."""

    tool: str
    model: type[ToolParams]
    derived: tuple[str, ...]
    given: Mapping[str, str]
    without: Mapping[str, str]


def option_name(field: str, kind: str) -> str:
    """``--extra-system-package`` for the list ``extra_system_packages``; ``--app-object`` for ``app_object``."""
    if field in OPTION_NAMES:
        return OPTION_NAMES[field]
    name = field.replace("_", "-")
    if kind in ("list", "mapping") and name.endswith("s") and not name.endswith("ss"):
        name = name[:-1]
    return f"--{name}"


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _plain(annotation: Any) -> Any:
    """``str`` for ``Annotated[str, <constraints>]`` (the model checks the constraints)."""
    return get_args(annotation)[0] if get_origin(annotation) is typing.Annotated else annotation


def _shape(annotation: Any) -> tuple[str, Any] | None:
    """(kind, python type) of a field's command-line form, or None when it has none."""
    inner = _unwrap_optional(annotation)
    if inner is bool:
        return "flag", bool
    if inner in (str, int, float):
        return "scalar", inner
    if get_origin(inner) is Literal and all(isinstance(a, str) for a in get_args(inner)):
        return "choice", str
    if get_origin(inner) is list and get_args(inner) in ((str,),):
        return "list", list[str]
    if get_origin(inner) is dict and tuple(_plain(a) for a in get_args(inner)) == (str, str):
        return "mapping", list[str]
    return None


def _parameter(field: str, info: FieldInfo) -> tuple[inspect.Parameter, str]:
    shape = _shape(info.annotation)
    if shape is None:
        raise TypeError(f"{field} ({info.annotation}) has no command-line form")
    kind, python_type = shape
    name = option_name(field, kind)
    help_text = (info.description or "").strip()
    annotation: Any = python_type | None
    if kind == "flag":
        default = bool(info.default)
        option = typer.Option(default, f"{name}/--no-{name[2:]}" if default else name, help=help_text)
        annotation = bool
    elif kind == "choice":  # typer checks the value against the Literal's members
        option = typer.Option(None, name, help=help_text)
        annotation = _unwrap_optional(info.annotation) | None
    elif kind in ("list", "mapping"):
        option = typer.Option([], name, help=help_text + (" KEY=VALUE, repeatable." if kind == "mapping" else ""))
        annotation = list[str]
    else:
        option = typer.Option(None, name, help=help_text)
    return inspect.Parameter(field, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation), kind


def _given_value(kind: str, field: str, value: Any, default: object) -> tuple[bool, object]:
    """(whether the option was given, the value the tool gets) for a derived option's command-line value."""
    if kind == "mapping":
        return bool(value), key_values(value, option_name(field, kind), f"{option_name(field, kind)} KEY=VALUE")
    if kind == "flag":
        return value != bool(default), value
    return value not in (None, []), value


def tool_options(
    tool: str, *, given: Mapping[str, str] | None = None, without: Mapping[str, str] | None = None
) -> Callable[[F], F]:
    """Add an option for each field of ``tool``'s params model the function neither writes by hand nor leaves out
    (see the module). ``given`` maps a field to the function parameter that supplies it when the names differ;
    ``without`` maps a field the CLI does not offer to the reason."""
    from containerkit.tools import REGISTRY

    return options_from(REGISTRY.get(tool).params_model, tool=tool, given=given, without=without)


def options_from(
    model: type[ToolParams],
    *,
    tool: str = "",
    given: Mapping[str, str] | None = None,
    without: Mapping[str, str] | None = None,
) -> Callable[[F], F]:
    """:func:`tool_options` for a params model."""
    given = dict(given or {})
    without = dict(without or {})

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        own = [p for p in signature.parameters.values() if p.name != DERIVED]
        own_names = {p.name for p in own}
        for field, parameter in given.items():
            if field not in model.model_fields or parameter not in own_names:
                raise TypeError(f"{fn.__name__}: given {field!r} -> {parameter!r} names no field or no parameter")
        for field in without:
            if field not in model.model_fields:
                raise TypeError(f"{fn.__name__}: without {field!r} is not a field of {model.__name__}")
        added: list[inspect.Parameter] = []
        kinds: dict[str, str] = {}
        for field, info in model.model_fields.items():
            if field in own_names or field in given or field in without:
                continue
            try:
                option, kinds[field] = _parameter(field, info)
            except TypeError as e:
                raise TypeError(
                    f"{fn.__name__}: {model.__name__}.{e}; write it by hand (given=) or leave it out (without=)"
                ) from None
            added.append(option)
        if kinds and DERIVED not in signature.parameters:
            raise TypeError(f"{fn.__name__} derives {sorted(kinds)} but takes no {DERIVED!r} parameter to receive them")

        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> None:
            values: dict[str, object] = {}
            for field, kind in kinds.items():
                given_here, value = _given_value(kind, field, kwargs.pop(field), model.model_fields[field].default)
                if given_here:
                    values[field] = value
            if DERIVED in signature.parameters:
                kwargs[DERIVED] = values
            fn(*args, **kwargs)

        command.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*(p.replace(kind=p.KEYWORD_ONLY) for p in own), *added]
        )
        command.__tool_options__ = ToolOptions(  # type: ignore[attr-defined]
            tool=tool, model=model, derived=tuple(kinds), given=given, without=without
        )
        return typing.cast(F, command)

    return decorate
