"""The user's cache directory for what Container Kit can rebuild at any time (the tool index, OSV indexes)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$CONTAINERKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/containerkit``, else ``~/.cache/containerkit``."""
    base = os.environ.get("CONTAINERKIT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "containerkit"
    )
    return Path(base)
