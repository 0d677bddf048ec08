"""No `Any` in a public signature of workflow/, tools/ or cli/ (issue 17): what crosses those seams is a typed model
or an explicit JSON type (`JSONValue`, pydantic's `JsonValue`), so a writer and a reader cannot disagree on a key.

Public: a function or method whose name does not start with `_` (dunders count), in a class whose name does not,
at any depth of classes; its parameters and return annotation; and the annotated fields of a public class (a model's
or a dataclass's fields are its constructor's signature). Private helpers may use `Any` inside a module."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PACKAGES = ("workflow", "tools", "cli")


def _annotations(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    args = fn.args
    found = [a.annotation for a in (*args.posonlyargs, *args.args, *args.kwonlyargs) if a.annotation is not None]
    found += [a.annotation for a in (args.vararg, args.kwarg) if a is not None and a.annotation is not None]
    return [*found, *([fn.returns] if fn.returns is not None else [])]


def _mentions_any(node: ast.expr) -> bool:
    for n in ast.walk(node):
        if (isinstance(n, ast.Name) and n.id == "Any") or (isinstance(n, ast.Attribute) and n.attr == "Any"):
            return True
        if isinstance(n, ast.Constant) and isinstance(n.value, str):  # a quoted annotation: read it as one
            try:
                if _mentions_any(ast.parse(n.value, mode="eval").body):
                    return True
            except SyntaxError:
                continue
    return False


def public_any(source: str, module: str) -> list[str]:
    hits: list[str] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef) and not child.name.startswith("_"):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.AnnAssign) and isinstance(node, ast.ClassDef):
                name = child.target.id if isinstance(child.target, ast.Name) else ""
                if name and not name.startswith("_") and _mentions_any(child.annotation):
                    hits.append(f"{module}:{child.lineno} {prefix}{name}")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                private = child.name.startswith("_") and not (child.name.startswith("__") and child.name.endswith("__"))
                if not private and any(_mentions_any(a) for a in _annotations(child)):
                    hits.append(f"{module}:{child.lineno} {prefix}{child.name}")

    visit(ast.parse(source), "")
    return hits


def test_no_any_in_a_public_signature_of_workflow_tools_or_cli() -> None:
    hits = [
        hit
        for package in PACKAGES
        for path in sorted((ROOT / "src" / "containerkit" / package).rglob("*.py"))
        for hit in public_any(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert hits == [], "public signatures with Any (use the result model, JSONValue or object):\n" + "\n".join(hits)


def test_the_check_sees_parameters_returns_methods_and_string_annotations() -> None:
    source = """
from typing import Any
import typing

def ok(x: int) -> str: ...
def _private(x: Any) -> Any: ...
def param(x: dict[str, Any]) -> None: ...
async def ret() -> "list[Any]": ...
def star(*args: typing.Any) -> None: ...
class Public:
    field: dict[str, Any]
    _private_field: Any
    def method(self, r: Any) -> None: ...
    def _helper(self, r: Any) -> None: ...
    def __getattr__(self, name: str) -> Any: ...
    class Inner:
        def deep(self) -> Any: ...
class _Private:
    def method(self, r: Any) -> None: ...
"""
    assert [h.split(" ", 1)[1] for h in public_any(source, "m")] == [
        "param",
        "ret",
        "star",
        "Public.field",
        "Public.method",
        "Public.__getattr__",
        "Public.Inner.deep",
    ]
