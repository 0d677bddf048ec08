"""One finding model for every policy gate and one result shape for every validate_* tool (issue 17)."""

from __future__ import annotations

import ast

from containerkit.findings import Finding
from tests.conftest import ROOT


def test_one_class_is_named_finding() -> None:
    """Three gates had three finding classes (and two more classes shared the name for other things)."""
    named = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted((ROOT / "src" / "containerkit").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name == "Finding"
    ]
    assert [n.rsplit(":", 1)[0] for n in named] == ["src/containerkit/findings.py"], named


def test_every_gate_reports_the_shared_finding() -> None:
    from containerkit.scan.models import PolicyResult
    from containerkit.tools.registry import REGISTRY

    for tool in ("validate_dockerfile", "validate_manifests"):
        field = REGISTRY.get(tool).result_model.model_fields["findings"]
        assert field.annotation == list[Finding], tool
    assert PolicyResult.model_fields["rules"].annotation == list[Finding]


def test_every_validate_tool_returns_a_validate_result() -> None:
    from containerkit.tools.base import ValidateResult
    from containerkit.tools.registry import REGISTRY

    validators = [name for name in REGISTRY.names() if name.startswith("validate_")]
    assert sorted(validators) == ["validate_dockerfile", "validate_manifests", "validate_workflow"]
    for name in validators:
        assert issubclass(REGISTRY.get(name).result_model, ValidateResult), name


def test_a_validate_result_counts_its_findings() -> None:
    from containerkit.tools.base import ValidateResult

    findings = [
        Finding(rule="CK1", severity="error", message="a"),
        Finding(rule="CK2", severity="warning", message="b"),
        Finding(rule="CK3", severity="info", message="c"),
    ]
    result = ValidateResult.of(findings)
    assert (result.valid, result.errors, result.warnings) == (False, 1, 1)
    assert ValidateResult.of(findings[1:]).valid is True
