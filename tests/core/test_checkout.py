"""The suite runs on a fresh clone in CI: every fixture file must be in git, none hidden by .gitignore."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_no_fixture_or_test_file_is_ignored_by_git() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        [
            "git",
            "ls-files",
            "--others",
            "--ignored",
            "--exclude-standard",
            "--directory",
            "tests",
            "bench",
            "docs",
            "examples",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    ignored = [p for p in ignored if not _cache(p) and _input(p)]
    assert ignored == [], f"files the suite reads but a fresh clone lacks (.gitignore hides them): {ignored}"


def _cache(path: str) -> bool:
    return "__pycache__" in path or ".pytest_cache" in path or path.endswith(".pyc")


def _input(path: str) -> bool:
    """The Quick start writes Dockerfile, .dockerignore and k8s/ into examples/; those are outputs, not inputs."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return not path.startswith("examples/") or name not in {"Dockerfile", ".dockerignore", "k8s"}
