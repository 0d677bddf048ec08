"""The child process that runs the Rego engine (see :meth:`containerkit.policy.rego.PolicySet.evaluate_many`).

    python -m containerkit.policy.worker OUT.json  < {"modules": [{path, text, queries}], "inputs": [...]}

Writes ``{"results": [[[module path, rule, value], ...] per input]}`` to OUT.json, or ``{"error": ..., "module":
path}`` when a policy does not compile or fails; the engine's own error dump goes to this process's stdout, which
the parent reads for the message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def main(out: Path) -> int:
    from regopy import Interpreter, RegoError

    request = json.load(sys.stdin)
    rego = Interpreter()
    modules = request["modules"]
    for module in modules:
        rego.add_module(module["path"], module["text"])
    results: list[list[list[Any]]] = []
    current = None
    try:
        for value in [{}, *request["inputs"]]:  # {} first: every query compiles before any input is judged
            rego.set_input_term(json.dumps(value))
            hits: list[list[Any]] = []
            for module in modules:
                current = module["path"]
                for query in module["queries"]:
                    found = _query(rego, query)
                    items = found if isinstance(found, list) else [found] if isinstance(found, str | dict) else []
                    hits += [[module["path"], query.rsplit(".", 1)[1], item] for item in items]
            results.append(hits)
    except RegoError as e:
        out.write_text(json.dumps({"error": str(e), "module": current}))
        return 1
    out.write_text(json.dumps({"results": results[1:]}))
    return 0


def _query(rego: Any, query: str) -> Any:
    """The query's value, read from regopy's node tree: its JSON text is not escaped (a message with a quote in it
    breaks ``Interpreter.query``), the nodes are exact. None when undefined.

    Raises:
        RegoError: the evaluation failed (a built-in's error, a conflict between rules).
    """
    from regopy import Node, RegoError
    from regopy.interpreter import rego_query
    from regopy.output import rego_output_expressions_at_index, rego_output_ok, rego_output_string

    impl = rego_query(rego._impl, query)
    text = rego_output_string(impl)
    if not rego_output_ok(impl):
        raise RegoError(text)
    if text.strip() == "undefined":
        return None
    expressions = _python(Node(rego_output_expressions_at_index(impl, 0)))  # one per expression of the query: one
    return expressions[0] if isinstance(expressions, list) and expressions else None


def _python(node: Any) -> Any:
    from regopy import NodeKind

    kind = node.kind
    if kind in (NodeKind.Term, NodeKind.Scalar):
        return _python(node.at(0))
    if kind == NodeKind.String:
        return _unquoted(node.value)
    if kind in (NodeKind.Int, NodeKind.Float, NodeKind.Boolean, NodeKind.True_, NodeKind.False_, NodeKind.Null):
        return node.value
    if kind in (NodeKind.Array, NodeKind.Terms):
        return [_python(node.at(i)) for i in range(len(node))]
    if kind == NodeKind.Set:
        return [_python(child) for child in node._children.values()]
    if kind == NodeKind.Object:
        return {str(_python_key(key)): _python(child) for key, child in node._children.items()}
    return None


def _unquoted(text: Any) -> Any:
    """rego-cpp keeps strings in their JSON form: some (concat's) with the quotes, others (string literals in an
    object) with their escapes (``\\"``). Both are read back as the string they spell."""
    if not isinstance(text, str):
        return text
    spelled = text if len(text) >= 2 and text[0] == text[-1] == '"' else f'"{text}"' if "\\" in text else None
    if spelled is None:
        return text
    try:
        value = json.loads(spelled)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _python_key(key: str) -> Any:
    try:
        return json.loads(key)
    except ValueError:
        return key


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
