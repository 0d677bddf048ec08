"""The build-failure lines the system-package fixer recognises, as the corpus apps printed them."""

from __future__ import annotations

import pytest

from containerkit.workflow.fixers import SYSTEM_PACKAGES


def needed(log: str) -> list[str]:
    return sorted({pkg for pattern, pkgs in SYSTEM_PACKAGES if pattern.search(log) for pkg in pkgs})


@pytest.mark.parametrize(
    ("log", "packages"),
    [
        # py-microblog: pip compiling multidict on python:3.12-slim
        ("      error: [Errno 2] No such file or directory: 'gcc'\n", ["build-essential"]),
        # a native Node module built by node-gyp in an image without a compiler or Python
        ("gyp ERR! stack Error: not found: make\n", ["build-essential"]),
        ("gyp ERR! find Python Python is not set from command line or npm configuration\n", ["python3"]),
        ("Error: pg_config executable not found.\n", ["gcc", "libpq-dev"]),
        ("npm error ERESOLVE could not resolve\n", []),
    ],
)
def test_the_packages_a_failed_native_build_needs(log: str, packages: list[str]) -> None:
    assert needed(log) == packages
