"""One interface for every build strategy, and the ``auto`` selection among them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from containerkit.engine.context import BuildContext
from containerkit.engine.models import BuildStep, StrategyChoice
from containerkit.engine.tracker import StepTracker
from containerkit.errors import ContainerKitError, EngineUnavailableError, InvalidInputError

StepCallback = Callable[[BuildStep], Awaitable[None]]
STRATEGY_ORDER = ("buildkit", "docker", "podman")


@dataclass(frozen=True)
class BuildRequest:
    context: BuildContext
    tags: tuple[str, ...] = ()
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str | None = None
    no_cache: bool = False


class BuildStrategy(Protocol):
    """A way to build an image. ``check`` validates it can run here (engine, API version, plugin)."""

    name: str

    async def check(self) -> tuple[str, str]:
        """(endpoint, detail) when usable.

        Raises:
            ContainerKitError: why it cannot be used (ENGINE_UNAVAILABLE, TOOL_MISSING, ...).
        """
        ...

    async def build(self, request: BuildRequest, tracker: StepTracker, on_step: StepCallback) -> str:
        """Build and return the image id; feed every log line to ``tracker``.

        Raises:
            ContainerKitError: the failure, unclassified (the caller classifies build failures).
        """
        ...


async def select_strategy(preference: str, strategies: Sequence[BuildStrategy]) -> tuple[BuildStrategy, StrategyChoice]:
    """The requested strategy (validated), or for ``auto`` the first usable one in order.

    Raises:
        InvalidInputError: unknown strategy name.
        ContainerKitError: an explicitly requested strategy cannot run (its own error, with its hint).
        EngineUnavailableError: ``auto`` and nothing can run; the details list every reason.
    """
    by_name = {s.name: s for s in strategies}
    if preference != "auto":
        if preference not in by_name:
            raise InvalidInputError(
                f"unknown build strategy {preference!r}", hint="Use auto, buildkit, docker or podman."
            )
        endpoint, detail = await by_name[preference].check()
        return by_name[preference], StrategyChoice(
            name=preference, reason=f"requested explicitly; {detail}", endpoint=endpoint
        )
    skipped: list[str] = []
    for strategy in strategies:
        try:
            endpoint, detail = await strategy.check()
        except ContainerKitError as e:
            skipped.append(f"{strategy.name}: {e.message}")
            continue
        reason = f"auto: {detail}" + (f" (first usable of {', '.join(STRATEGY_ORDER)})" if skipped else "")
        return strategy, StrategyChoice(name=strategy.name, reason=reason, endpoint=endpoint, skipped=skipped)
    raise EngineUnavailableError(
        "no build strategy is usable: " + "; ".join(skipped),
        details={"skipped": list(skipped)},
    )
