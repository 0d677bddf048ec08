"""Every third-party package the code imports is declared in pyproject (not only reached through another's): in the
dependencies, or — for what only a feature that names its extra needs (PostgreSQL's driver) — in a non-dev extra."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib

from tests.conftest import ROOT


def test_every_imported_distribution_is_a_declared_dependency() -> None:
    imported = set()
    for path in (ROOT / "src" / "containerkit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third = {m for m in imported if m not in sys.stdlib_module_names and m != "containerkit"}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [d for name, deps in project["optional-dependencies"].items() if name != "dev" for d in deps]
    declared = {re.split(r"[<>=\[ ;]", d)[0].lower().replace("_", "-") for d in [*project["dependencies"], *extras]}
    by_module = importlib.metadata.packages_distributions()
    undeclared = sorted(m for m in third if not {d.lower().replace("_", "-") for d in by_module.get(m, [])} & declared)
    assert not undeclared, f"imported but not declared in pyproject's dependencies: {undeclared}"
