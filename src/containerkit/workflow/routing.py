"""Failure routing: rules as data (error code -> fixer), deterministic fixers first, then MCP sampling.

Rules live in ``routing_rules.yaml`` beside this module and can be replaced by a
user file (``settings.workflow.routing_rules``). Every decision is recorded as a
run event by the runner.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from containerkit import yamlsafe
from containerkit.errors import ConfigError
from containerkit.tools.base import Services
from containerkit.workflow.fixers import FIXERS
from containerkit.workflow.rules import RoutingRule
from containerkit.workflow.runner import FailureContext, RouteDecision, Router

RULES_FILE = Path(__file__).with_name("routing_rules.yaml")


class RoutingRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: list[RoutingRule]

    def match(self, tool: str, code: str) -> RoutingRule | None:
        for rule in self.rules:
            if code in rule.codes and (not rule.tools or tool in rule.tools):
                return rule
        return None


def load_rules(path: Path | None = None) -> RoutingRules:
    """Raises ConfigError when the rules file is unreadable or malformed."""
    source = path or RULES_FILE
    try:
        return RoutingRules.model_validate(yamlsafe.load(yamlsafe.read(source)))
    except (OSError, yaml.YAMLError, ValidationError) as e:
        raise ConfigError(
            f"routing rules {source} are invalid: {e}",
            hint="Fix the file named by CONTAINERKIT_WORKFLOW__ROUTING_RULES.",
        ) from e


def default_router(services: Services) -> Router:
    rules = load_rules(services.settings.workflow.routing_rules)
    attempts: dict[tuple[str, str, str], int] = {}

    async def route(failure: FailureContext) -> RouteDecision | None:
        rule = rules.match(failure.step.tool, failure.error.code)
        if rule is None:
            return None
        key = (failure.run_id, failure.step.id, rule.id)
        used = attempts.get(key, 0)
        if rule.fixer in ("stop", "skip"):
            return await FIXERS[rule.fixer](failure, services, rule)
        if used >= rule.max_attempts:
            return RouteDecision("give_up", f"rule {rule.id} already tried {used} time(s)", detail={"rule": rule.id})
        attempts[key] = used + 1
        fix = FIXERS.get(rule.fixer)
        if fix is None:
            raise ConfigError(
                f"routing rule {rule.id} names unknown fixer {rule.fixer!r}",
                hint=f"Known fixers: {', '.join(sorted(FIXERS))}.",
            )
        decision = await fix(failure, services, rule)
        if decision is not None:
            decision.detail.setdefault("rule", rule.id)
            decision.detail.setdefault("attempt", used + 1)
        return decision

    return route
