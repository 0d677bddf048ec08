"""The user's Rego policies in each gate: the Dockerfile lint, the manifest validation and the scan's policy gate.

One engine (:mod:`containerkit.policy.rego`); here each gate's input goes in and its own finding type comes out, so
SARIF, the gate and the MCP results show a policy's findings as they show the built-in ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from containerkit.dockerfile.parse import conftest_input
from containerkit.findings import Finding
from containerkit.policy.rego import PolicySet, RuleResult
from containerkit.tools.base import ToolContext

if TYPE_CHECKING:  # the Kubernetes side loads its schemas package: not for `lint`
    from containerkit.k8s.rules import RuleHit
    from containerkit.k8s.validate import ExtraRules

PARAM_DESCRIPTION = (
    "Directory of Rego policies (conftest's conventions: deny/violation/warn rules, Rego v1) checked beside "
    "the built-in rules; default: the `policy_dir` setting. deny and violation are errors, warn warnings."
)


def load(ctx: ToolContext, param: str | None) -> PolicySet | None:
    """The policies the call names, or the settings' ``policy_dir``, or none.

    Raises:
        InvalidInputError: the directory is missing, empty or holds a policy that does not compile.
    """
    if param:
        return PolicySet.load(ctx.resolve_path(param))
    configured = ctx.settings.policy_dir
    return PolicySet.load(Path(configured)) if configured else None


def _line(result: RuleResult) -> int | None:
    for key in ("line", "Line", "startline", "StartLine"):
        value = result.details.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _fix(result: RuleResult) -> str:
    return f"Required by the policy {result.policy} ({result.rule})."


def dockerfile_findings(policies: PolicySet, text: str) -> list[Finding]:
    return [
        Finding(rule=r.rule, severity=r.severity, line=_line(r), message=r.message, fix=_fix(r), source="policy")
        for r in policies.evaluate(conftest_input(text))
    ]


def manifest_rules(policies: PolicySet) -> ExtraRules:
    """The policies as extra manifest rules: every object in (each one input, as conftest gives them), hits out."""
    from containerkit.k8s.rules import RuleHit

    def check(objects: list[dict[str, Any]]) -> list[list[RuleHit]]:
        return [
            [RuleHit(rule=r.rule, severity=r.severity, path=(), message=r.message, fix=_fix(r)) for r in results]
            for results in policies.evaluate_many(list(objects))
        ]

    return check
