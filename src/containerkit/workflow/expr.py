"""`${{ ... }}` references and `when` conditions: a small, safe expression language.

Expressions are parsed with :mod:`ast` and only a whitelist of nodes is evaluated:
names (``inputs``, ``steps``), attribute and item access, literals, comparisons,
``and``/``or``/``not``, ``in``. No calls, no dunder access.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

from containerkit.errors import WorkflowError

#: ``${{ expr }}``; the expression never spans a ``}}`` (so "${{ a }}/${{ b }}" is two templates, not one)
TEMPLATE = re.compile(r"\$\{\{\s*((?:(?!\}\}).)+?)\s*\}\}")
_ALLOWED = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.Constant,
    ast.Compare,
    ast.BoolOp,
    ast.UnaryOp,
    ast.Not,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.List,
    ast.Tuple,
    ast.USub,
    ast.Is,
    ast.IsNot,
)
_MISSING = object()


def parse(expression: str) -> ast.Expression:
    """Parse and check an expression.

    Raises:
        WorkflowError: syntax error or a construct outside the whitelist.
    """
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as e:
        raise WorkflowError(f"invalid expression {expression!r}: {e.msg}") from e
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise WorkflowError(
                f"expression {expression!r} uses {type(node).__name__}, which is not allowed",
                hint="Use names, .field, [index], literals, comparisons, and/or/not, in.",
            )
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise WorkflowError(f"expression {expression!r} accesses a private attribute")
    return tree


def references(expression: str) -> list[tuple[str, str]]:
    """The (root, first key) pairs an expression reads, e.g. ('steps', 'build')."""
    refs = []
    for node in ast.walk(parse(expression)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            refs.append((node.value.id, node.attr))
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and isinstance(node.slice, ast.Constant)
        ):
            refs.append((node.value.id, str(node.slice.value)))
        elif isinstance(node, ast.Name) and node.id not in ("steps", "inputs", "true", "false", "null"):
            raise WorkflowError(
                f"unknown name {node.id!r} in {expression!r}",
                hint="Expressions read `inputs.X` and `steps.ID.outputs.X`.",
            )
    return refs


def evaluate(expression: str, context: Mapping[str, object]) -> object:
    """Evaluate against ``{'inputs': ..., 'steps': {id: {'status':, 'outputs':, 'error':}}}``.

    Missing keys evaluate to None (so ``when: steps.x.outputs.y == 1`` is simply false).
    """
    return _eval(parse(expression).body, context)


def _eval(node: ast.AST, ctx: Mapping[str, Any]) -> Any:
    match node:
        case ast.Constant(value=value):
            return value
        case ast.Name(id=name):
            return {"true": True, "false": False, "null": None}.get(name, ctx.get(name))
        case ast.Attribute(value=inner, attr=attr):
            return _get(_eval(inner, ctx), attr)
        case ast.Subscript(value=inner, slice=index):
            return _get(_eval(inner, ctx), _eval(index, ctx))
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            return [_eval(e, ctx) for e in elts]
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return not _eval(operand, ctx)
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return -_eval(operand, ctx)
        case ast.BoolOp(op=ast.And(), values=values):
            result: Any = True
            for v in values:
                result = _eval(v, ctx)
                if not result:
                    return result
            return result
        case ast.BoolOp(op=ast.Or(), values=values):
            result = False
            for v in values:
                result = _eval(v, ctx)
                if result:
                    return result
            return result
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            current = _eval(left, ctx)
            for op, comp in zip(ops, comparators, strict=True):
                right = _eval(comp, ctx)
                if not _compare(op, current, right):
                    return False
                current = right
            return True
    raise WorkflowError(f"cannot evaluate {ast.dump(node)}")


def _compare(op: ast.cmpop, left: Any, right: Any) -> bool:
    try:
        match op:
            case ast.Eq():
                return bool(left == right)
            case ast.NotEq():
                return bool(left != right)
            case ast.Lt():
                return bool(left < right)
            case ast.LtE():
                return bool(left <= right)
            case ast.Gt():
                return bool(left > right)
            case ast.GtE():
                return bool(left >= right)
            case ast.In():
                return left in (right or ())
            case ast.NotIn():
                return left not in (right or ())
            case ast.Is():
                return left is right
            case ast.IsNot():
                return left is not right
    except TypeError:
        return False
    return False


def _get(container: Any, key: Any) -> Any:
    if isinstance(container, Mapping):
        return container.get(key)
    if isinstance(container, list | tuple) and isinstance(key, int):
        return container[key] if -len(container) <= key < len(container) else None
    return None


def render_params(params: Mapping[str, object], context: Mapping[str, object]) -> dict[str, object]:
    """A step's params with their templates substituted."""
    return {key: render(value, context) for key, value in params.items()}


def render(value: object, context: Mapping[str, object]) -> object:
    """Substitute templates in params: a whole-string template keeps the value's type."""
    if isinstance(value, str):
        whole = TEMPLATE.fullmatch(value.strip())
        if whole:
            return evaluate(whole.group(1), context)
        return TEMPLATE.sub(lambda m: _text(evaluate(m.group(1), context)), value)
    if isinstance(value, Mapping):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value


def _text(value: object) -> str:
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def templates_in(value: object) -> list[str]:
    """Every expression inside templates of a params value."""
    if isinstance(value, str):
        return TEMPLATE.findall(value)
    if isinstance(value, Mapping):
        return [e for v in value.values() for e in templates_in(v)]
    if isinstance(value, list):
        return [e for v in value for e in templates_in(v)]
    return []


def is_templated(value: object) -> bool:
    return bool(templates_in(value))
