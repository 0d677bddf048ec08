"""A command's options derived from its tool's parameters, so a new field is one edit, not two.

:func:`tool_options` decorates a command function. The parameters are read from the tool's published input schema
(the JSON schema MCP clients get in tools/list, from the cached tool index: building a command imports no tool
module, ADR 0098), so the CLI offers what the MCP tool takes. Each property is, in this order of preference:

- written by hand in the function (same name, or named in ``given``: a positional argument, a ``--tag`` for ``tags``,
  ``--no-engine`` for ``check_engine``), when the CLI spells it differently from the model;
- left out on purpose, with the reason in ``without`` (a password never on the command line; for the reader and the
  test);
- otherwise an option derived here: ``--field-name`` (``session_id`` is ``--session``, ``timeout_s`` is
  ``--timeout``; a list or a KEY=VALUE mapping is a repeatable option named in the singular), its help the field's
  description, its type the field's type (a choice for an enum, ``--no-…`` for a flag that defaults to true).

The function receives the derived options' values as ``derived``: only those given on the command line, so the tool's
own defaults apply to the rest. A property with no command-line form (a nested object, a secret) that is neither
given nor left out is a ``TypeError`` when the command is built: ``tests/core/test_cli_params.py`` builds every
command.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import typer

from containerkit.cli.runner import key_values
from containerkit.errors import JSONValue

F = TypeVar("F", bound=Callable[..., None])
Schema = Mapping[str, JSONValue]

#: the option names the CLI has always used for fields every tool shares
OPTION_NAMES = {"session_id": "--session", "timeout_s": "--timeout"}
#: the name of the function parameter that receives the derived options' values
DERIVED = "derived"
_SCALARS: dict[str, type] = {"string": str, "integer": int, "number": float}


@dataclass(frozen=True)
class ToolOptions:
    """What :func:`tool_options` recorded on a command: which fields are derived, written by hand, or left out."""

    tool: str
    fields: tuple[str, ...]
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


def _non_null(prop: Schema) -> Schema:
    """The schema of an optional property without its ``null`` alternative."""
    alternatives = prop.get("anyOf")
    if isinstance(alternatives, list):
        rest = [a for a in alternatives if isinstance(a, dict) and a.get("type") != "null"]
        if len(rest) == 1 and len(rest) == len(alternatives) - 1:
            return rest[0]
    return prop


def _shape(prop: Schema) -> tuple[str, Any] | None:
    """(kind, python type) of a property's command-line form, or None when it has none."""
    inner = _non_null(prop)
    if inner.get("format") == "password" or inner.get("writeOnly") is True:
        return None  # a secret is read from stdin or a file, never from argv
    kind = inner.get("type")
    enum = inner.get("enum")
    if kind == "boolean":
        return "flag", bool
    if kind == "string" and isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
        return "choice", Literal[tuple(enum)]  # typer checks the value against the members
    if isinstance(kind, str) and kind in _SCALARS and enum is None:
        return "scalar", _SCALARS[kind]
    items, values = inner.get("items"), inner.get("additionalProperties")
    if kind == "array" and isinstance(items, dict) and items.get("type") == "string":
        return "list", list[str]
    if kind == "object" and isinstance(values, dict) and values.get("type") == "string" and not inner.get("properties"):
        return "mapping", list[str]
    return None


def _parameter(field: str, prop: Schema) -> tuple[inspect.Parameter, str]:
    shape = _shape(prop)
    if shape is None:
        raise TypeError(f"{field} has no command-line form")
    kind, python_type = shape
    name = option_name(field, kind)
    description = prop.get("description")
    help_text = description.strip() if isinstance(description, str) else ""
    annotation: Any = python_type | None
    if kind == "flag":
        default = prop.get("default") is True
        option = typer.Option(default, f"{name}/--no-{name[2:]}" if default else name, help=help_text)
        annotation = bool
    elif kind in ("list", "mapping"):
        option = typer.Option([], name, help=help_text + (" KEY=VALUE, repeatable." if kind == "mapping" else ""))
        annotation = list[str]
    else:
        option = typer.Option(None, name, help=help_text)
    return inspect.Parameter(field, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation), kind


def _given_value(kind: str, field: str, value: Any, default: JSONValue) -> tuple[bool, object]:
    """(whether the option was given, the value the tool gets) for a derived option's command-line value."""
    if kind == "mapping":
        return bool(value), key_values(value, option_name(field, kind), f"{option_name(field, kind)} KEY=VALUE")
    if kind == "flag":
        return value != (default is True), value
    return value not in (None, []), value


def tool_options(
    tool: str, *, given: Mapping[str, str] | None = None, without: Mapping[str, str] | None = None
) -> Callable[[F], F]:
    """Add an option for each parameter of ``tool`` the function neither writes by hand nor leaves out (see the
    module). ``given`` maps a field to the function parameter that supplies it when the names differ; ``without`` maps
    a field the CLI does not offer to the reason."""
    from containerkit.tools import REGISTRY

    info = REGISTRY.index().get(tool)
    if info is None:
        raise TypeError(f"no tool {tool!r} to derive options from")
    return options_from(info.input_schema, tool=tool, given=given, without=without)


def options_from(
    schema: Schema,
    *,
    tool: str = "",
    given: Mapping[str, str] | None = None,
    without: Mapping[str, str] | None = None,
) -> Callable[[F], F]:
    """:func:`tool_options` for a JSON schema of an object (its ``properties``)."""
    given = dict(given or {})
    without = dict(without or {})
    raw = schema.get("properties")
    properties: dict[str, Schema] = (
        {k: v for k, v in raw.items() if isinstance(v, dict)} if isinstance(raw, dict) else {}
    )
    title = str(schema.get("title") or tool or "the schema")

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        own = [p for p in signature.parameters.values() if p.name != DERIVED]
        own_names = {p.name for p in own}
        for field, parameter in given.items():
            if field not in properties or parameter not in own_names:
                raise TypeError(f"{fn.__name__}: given {field!r} -> {parameter!r} names no field or no parameter")
        for field in without:
            if field not in properties:
                raise TypeError(f"{fn.__name__}: without {field!r} is not a field of {title}")
        added: list[inspect.Parameter] = []
        kinds: dict[str, str] = {}
        for field, prop in properties.items():
            if field in own_names or field in given or field in without:
                continue
            try:
                option, kinds[field] = _parameter(field, prop)
            except TypeError as e:
                raise TypeError(
                    f"{fn.__name__}: {title}.{e}; write it by hand (given=) or leave it out (without=)"
                ) from None
            added.append(option)
        if kinds and DERIVED not in signature.parameters:
            raise TypeError(f"{fn.__name__} derives {sorted(kinds)} but takes no {DERIVED!r} parameter to receive them")

        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> None:
            values: dict[str, object] = {}
            for field, kind in kinds.items():
                given_here, value = _given_value(kind, field, kwargs.pop(field), properties[field].get("default"))
                if given_here:
                    values[field] = value
            if DERIVED in signature.parameters:
                kwargs[DERIVED] = values
            fn(*args, **kwargs)

        command.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*(p.replace(kind=p.KEYWORD_ONLY) for p in own), *added]
        )
        command.__tool_options__ = ToolOptions(  # type: ignore[attr-defined]
            tool=tool, fields=tuple(properties), derived=tuple(kinds), given=given, without=without
        )
        return typing.cast(F, command)

    return decorate
