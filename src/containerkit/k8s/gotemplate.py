"""A Go-template evaluator for the small subset Container Kit's Helm charts use.

Supported: ``{{ .Values.a.b }}``, ``.Release.Namespace``, ``.Release.Name``, ``.Chart.AppVersion``/``.Chart.Name``,
pipelines with ``toYaml``, ``nindent N``, ``indent N``, ``quote``, ``default X``, ``if``/``else``/``end``, and the
``{{-``/``-}}`` whitespace trims, with Helm's semantics (missing values print nothing, ``toYaml`` sorts keys).
Anything else raises :class:`TemplateError`, so a chart beyond the subset is refused rather than misread.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

import yaml

_ACTION = re.compile(r"\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}", re.S)


class TemplateError(Exception):
    pass


@dataclass
class _If:
    cond: str
    then: list[Any]
    other: list[Any]


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos, trim_next = 0, False
    for m in _ACTION.finditer(text):
        chunk = text[pos : m.start()]
        if trim_next:
            chunk = chunk.lstrip()
        if m.group(1):
            chunk = chunk.rstrip()
        out.append(("text", chunk))
        out.append(("action", m.group(2)))
        trim_next, pos = bool(m.group(3)), m.end()
    tail = text[pos:]
    out.append(("text", tail.lstrip() if trim_next else tail))
    return out


def _parse(tokens: list[tuple[str, str]], i: int = 0, top: bool = True) -> tuple[list[Any], int, str | None]:
    nodes: list[Any] = []
    while i < len(tokens):
        kind, value = tokens[i]
        i += 1
        if kind == "text":
            nodes.append(value)
        elif value.startswith("if "):
            then, i, stop = _parse(tokens, i, top=False)
            other: list[Any] = []
            if stop == "else":
                other, i, stop = _parse(tokens, i, top=False)
            if stop != "end":
                raise TemplateError(f"'{{{{ {value} }}}}' has no matching end")
            nodes.append(_If(value[3:].strip(), then, other))
        elif value in ("else", "end"):
            if top:
                raise TemplateError(f"unexpected {{{{ {value} }}}}")
            return nodes, i, value
        elif value.startswith("/*") and value.endswith("*/"):
            continue
        else:
            nodes.append(("action", value))
    if not top:
        raise TemplateError("unterminated if block")
    return nodes, i, None


def _lookup(ref: str, data: dict[str, Any]) -> Any:
    node: Any = data
    for part in ref.lstrip(".").split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _arg(word: str, data: dict[str, Any]) -> Any:
    if word.startswith("."):
        return _lookup(word, data)
    if re.fullmatch(r"-?\d+", word):
        return int(word)
    if word.startswith('"') and word.endswith('"'):
        return word[1:-1]
    if word in ("true", "false"):
        return word == "true"
    raise TemplateError(f"unsupported template argument {word!r}")


def to_yaml(value: Any) -> str:
    return (
        yaml.safe_dump(value, sort_keys=True, default_flow_style=False).rstrip("\n") if value not in (None, "") else ""
    )


def _call(fn: str, args: list[Any]) -> Any:
    if fn == "toYaml" and len(args) == 1:
        return to_yaml(args[0])
    if fn in ("nindent", "indent") and len(args) == 2:
        pad = " " * int(args[0])
        body = "\n".join(pad + line for line in str(_text(args[1])).split("\n"))
        return ("\n" if fn == "nindent" else "") + body
    if fn == "quote" and len(args) == 1:
        return '"' + str(_text(args[0])).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if fn == "default" and len(args) == 2:
        return args[1] if args[1] not in (None, "", 0, False, [], {}) else args[0]
    raise TemplateError(f"unsupported template function {fn!r} with {len(args)} argument(s)")


def _pipeline(expr: str, data: dict[str, Any]) -> Any:
    value: Any = None
    for n, command in enumerate(part.strip() for part in expr.split("|")):
        try:
            words = shlex.split(command, posix=False)
        except ValueError as e:
            raise TemplateError(f"cannot parse {command!r}: {e}") from e
        if not words:
            raise TemplateError(f"empty command in {expr!r}")
        if n == 0 and len(words) == 1 and not words[0][0].isalpha():
            value = _arg(words[0], data)
            continue
        args = [_arg(w, data) for w in words[1:]] + ([value] if n > 0 else [])
        value = _call(words[0], args)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _truthy(value: Any) -> bool:
    return value not in (None, "", 0, False) and value != [] and value != {}


def _eval(nodes: list[Any], data: dict[str, Any]) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _If):
            out.append(_eval(node.then if _truthy(_pipeline(node.cond, data)) else node.other, data))
        else:
            out.append(_text(_pipeline(node[1], data)))
    return "".join(out)


def render(
    text: str,
    values: dict[str, Any],
    *,
    release: str = "release",
    namespace: str = "default",
    chart: dict[str, Any] | None = None,
) -> str:
    """Render one template with Helm's top-level objects (Values, Release, Chart).

    Raises:
        TemplateError: a construct outside the subset, or unbalanced if/end.
    """
    meta = chart or {}
    data = {
        "Values": values,
        "Release": {"Name": release, "Namespace": namespace},
        "Chart": {"Name": meta.get("name"), "AppVersion": meta.get("appVersion"), "Version": meta.get("version")},
    }
    nodes, _, _ = _parse(_tokens(text))
    return _eval(nodes, data)
