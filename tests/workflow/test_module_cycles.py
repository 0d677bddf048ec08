"""No two modules of the workflow package import each other (fixers.py and routing.py did: issue 17)."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PACKAGE = ROOT / "src" / "containerkit" / "workflow"


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):  # function-level imports count: they close the cycle at run time
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("containerkit.workflow."):
            found.add(node.module.rsplit(".", 1)[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.rsplit(".", 1)[1] for a in node.names if a.name.startswith("containerkit.workflow.")}
    return found


def test_no_two_workflow_modules_import_each_other() -> None:
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    graph = {m: _imports(m) & set(modules) for m in modules}
    mutual = sorted({tuple(sorted((a, b))) for a in modules for b in graph[a] if a in graph.get(b, set()) and a != b})
    assert not mutual, f"modules importing each other: {mutual}"
