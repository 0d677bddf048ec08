"""A small deterministic YAML emitter that writes a comment above the fields that need one.

``yaml.safe_dump`` cannot write comments, so manifests are emitted here: block style, keys in insertion order,
two-space indentation, list items indented under their key. Strings are written plain when YAML reads them back as
the same string, double-quoted (JSON escaping, a subset of YAML's) otherwise. :class:`Raw` values are written verbatim
(Helm template expressions); the plain output re-parses to exactly the objects it was given (tested).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml

Path = tuple[str | int, ...]
Comments = Mapping[Path, str]

_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./:@+-]*$")


@dataclass(frozen=True)
class Raw:
    """A scalar written as is (e.g. ``{{ .Values.replicaCount }}``); only for Helm templates."""

    text: str


@dataclass(frozen=True)
class RawBlock:
    """A mapping value replaced by template text on the line after its key (e.g. ``{{- toYaml .Values.x | nindent 12
    }}``)."""

    text: str


def scalar(value: object) -> str:
    if isinstance(value, Raw):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot emit {type(value).__name__} as a YAML scalar")
    if _PLAIN.match(value) and not value.endswith(":") and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def _comment(lines: list[str], indent: int, text: str | None) -> None:
    if text:
        lines.extend(f"{' ' * indent}# {part}" for part in text.splitlines())


def _is_empty_collection(value: object) -> bool:
    return isinstance(value, Mapping | list | tuple) and not value


def _emit_map(
    lines: list[str], obj: Mapping[str, object], indent: int, path: Path, comments: Comments, first_prefix: str = ""
) -> None:
    pad = " " * indent
    for i, (key, value) in enumerate(obj.items()):
        sub = (*path, key)
        prefix = first_prefix if i == 0 and first_prefix else pad
        if not (i == 0 and first_prefix):
            _comment(lines, indent, comments.get(sub))
        head = f"{prefix}{scalar(key)}:"
        if isinstance(value, RawBlock):
            lines.append(head)
            lines.append(f"{' ' * (indent + 2)}{value.text.replace('@INDENT@', str(indent + 2))}")
        elif _is_empty_collection(value):
            lines.append(f"{head} {'{}' if isinstance(value, Mapping) else '[]'}")
        elif isinstance(value, Mapping):
            lines.append(head)
            _emit_map(lines, value, indent + 2, sub, comments)
        elif isinstance(value, list | tuple):
            lines.append(head)
            _emit_seq(lines, value, indent + 2, sub, comments)
        else:
            lines.append(f"{head} {scalar(value)}")


def _emit_seq(lines: list[str], seq: Sequence[object], indent: int, path: Path, comments: Comments) -> None:
    pad = " " * indent
    for i, item in enumerate(seq):
        sub = (*path, i)
        _comment(lines, indent, comments.get(sub))
        if isinstance(item, Mapping) and item:
            first = next(iter(item))
            _comment(lines, indent, comments.get((*sub, first)))
            _emit_map(lines, item, indent + 2, sub, comments, first_prefix=f"{pad}- ")
        elif isinstance(item, list | tuple) and item:
            lines.append(f"{pad}-")
            _emit_seq(lines, item, indent + 2, sub, comments)
        elif _is_empty_collection(item):
            lines.append(f"{pad}- {'{}' if isinstance(item, Mapping) else '[]'}")
        else:
            lines.append(f"{pad}- {scalar(item)}")


def dump(obj: Mapping[str, object], comments: Comments | None = None, header: str | None = None) -> str:
    """One YAML document: an optional ``#`` header, then the object, comments above their fields."""
    lines: list[str] = []
    _comment(lines, 0, header)
    _emit_map(lines, obj, 0, (), comments or {})
    return "\n".join(lines) + "\n"
