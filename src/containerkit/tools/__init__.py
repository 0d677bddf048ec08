"""The tool registry and one module per tool group.

Each module's ``@REGISTRY.tool`` registrations happen when it is imported: the registry imports a tool's module when
the tool is first used, and :func:`load_all` imports them all. Adding a tool group is adding a module.
"""

from __future__ import annotations

from containerkit.tools.base import (
    Model,
    NullProgress,
    Progress,
    Sampler,
    Services,
    ToolContext,
    ToolParams,
    ToolResult,
)
from containerkit.tools.registry import REGISTRY, ToolInfo, ToolRegistry, ToolSpec


def load_all() -> ToolRegistry:
    """Import every tool module (tests and documentation checks that need every spec)."""
    return REGISTRY.load_all()


__all__ = [
    "REGISTRY",
    "Model",
    "NullProgress",
    "Progress",
    "Sampler",
    "Services",
    "ToolContext",
    "ToolInfo",
    "ToolParams",
    "ToolRegistry",
    "ToolResult",
    "ToolSpec",
    "load_all",
]
