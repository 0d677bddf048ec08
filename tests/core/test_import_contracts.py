"""The import-linter contracts hold, and they are not decorative: a copy of the package that imports docker-py from a
tool, lightkube from the rollout code, httpx from the CLI and psycopg from the job store breaks exactly the four
ownership contracts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_every_contract_is_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "0 broken" in result.stdout


def test_a_third_party_client_outside_its_owner_breaks_its_contract(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "src" / "containerkit", tmp_path / "src" / "containerkit", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    probes = {
        "tools/scan.py": "import docker",
        "k8s/rollout.py": "import lightkube",
        "cli/main.py": "import httpx",
        "store/sessions.py": "import psycopg",
    }
    for rel, line in probes.items():
        path = tmp_path / "src" / "containerkit" / rel
        path.write_text(path.read_text() + f"\n{line}  # probe\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    out = " ".join(result.stdout.split())
    assert "docker-py (and its requests transport) only in containerkit.engine BROKEN" in out
    assert "lightkube and its HTTP client only in containerkit.k8s.client (and the kubeconfig reader) BROKEN" in out
    assert "httpx only where a package owns an HTTP client" in out and "Contracts: 3 kept, 4 broken." in out
    assert "psycopg only in containerkit.store.postgres BROKEN" in out
    for module, package in (
        ("containerkit.tools.scan", "docker"),
        ("containerkit.k8s.rollout", "lightkube"),
        ("containerkit.cli.main", "httpx"),
        ("containerkit.store.sessions", "psycopg"),
    ):
        assert f"{module} -> {package}" in out


def test_docker_pys_private_request_helpers_are_used_in_one_module_and_exist() -> None:
    """Build, push and pull stream through docker-py's private helpers (to hold the socket a cancellation closes, ADR
    0041): they were called from three modules; now only engine/stream.py calls them, and an installed docker-py
    without one of them fails here instead of in a user's build."""
    import re

    from docker import APIClient

    from containerkit.engine.stream import PRIVATE_API

    assert [name for name in PRIVATE_API if not callable(getattr(APIClient, name, None))] == []
    private_call = re.compile(r"\.(_post|_post_json|_get|_delete|_put|_url|_result|" + "|".join(PRIVATE_API) + r")\(")
    src = ROOT / "src" / "containerkit"
    callers = sorted(
        str(path.relative_to(src))
        for path in src.rglob("*.py")
        if private_call.search(path.read_text(encoding="utf-8"))
    )
    assert callers == ["engine/stream.py"]
