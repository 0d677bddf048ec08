"""The tool registry and one module per tool group.

:func:`load_all` imports every module of this package once, so each module's
``@REGISTRY.tool`` registrations happen; adding a tool group is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil

from containerkit.tools.base import Model, NullProgress, Progress, Sampler, Services, ToolContext, ToolParams, ToolResult
from containerkit.tools.registry import REGISTRY, ToolRegistry, ToolSpec

_INFRA = {"base", "registry"}
_loaded = False


def load_all() -> ToolRegistry:
    global _loaded
    if not _loaded:
        for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
            if module not in _INFRA and not module.startswith("_"):
                importlib.import_module(f"{__name__}.{module}")
        _loaded = True
    return REGISTRY


__all__ = [
    "REGISTRY", "Model", "NullProgress", "Progress", "Sampler", "Services", "ToolContext", "ToolParams",
    "ToolRegistry", "ToolResult", "ToolSpec", "load_all",
]
