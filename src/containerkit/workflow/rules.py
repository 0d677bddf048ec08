"""A routing rule and the registry of fixers it names: what the routing (routing.py) and the fixers (fixers.py) share,
so neither imports the other's module for it (they imported each other before)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field

from containerkit.tools.base import Services
from containerkit.workflow.runner import FailureContext, RouteDecision


class RoutingRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    tools: list[str] = Field(default_factory=list, description="Tools this rule applies to (empty: any).")
    codes: list[str] = Field(min_length=1, description="Error codes that trigger it.")
    fixer: str = Field(description="Name of the fixer to run (see FIXERS), or 'stop'.")
    max_attempts: int = Field(2, ge=0, le=10)
    hint: str | None = Field(None, description="Shown when the rule stops the run or gives up.")


Fixer = Callable[[FailureContext, Services, RoutingRule], Awaitable[RouteDecision | None]]
FIXERS: dict[str, Fixer] = {}


def fixer(name: str) -> Callable[[Fixer], Fixer]:
    def register(fn: Fixer) -> Fixer:
        FIXERS[name] = fn
        return fn

    return register


@fixer("skip")
async def _skip(failure: FailureContext, services: Services, rule: RoutingRule) -> RouteDecision:
    return RouteDecision("skip", rule.hint or f"skipped: {failure.error.code}", detail={"rule": rule.id})


@fixer("stop")
async def _stop(failure: FailureContext, services: Services, rule: RoutingRule) -> RouteDecision:
    return RouteDecision(
        "give_up", rule.hint or f"{failure.error.code} cannot be fixed automatically", detail={"rule": rule.id}
    )
